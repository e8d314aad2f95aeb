import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { TimestampSchema } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Event } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import { ChaukasServerService } from "../../gen/chaukas/spec/server/v1/server_pb.ts";
import { SDK_HEADERS } from "../../kit/sdk-headers.ts";
import { killServerProcesses, type ServerProcess, startServerProcess } from "../../kit/server-process.ts";
import { eventToRestJson } from "../../src/codec/formats/rest-json.ts";
import { batchRequestBytes, SdkHttp } from "../api/http/sdk/sdk-like.ts";
import { runCli } from "../cli/run-cli.ts";
import { createTestDatabase, postgresReachable, withPostgres } from "../support/databases.ts";
import { makeEvent } from "../support/events.ts";
import { WITH_LOG_LEAVES } from "../support/log-leaves.ts";

/**
 * Events are partitioned by time (ADR 0024), and an id is unique in event_ids, not in a partition:
 * the same event_id sent with times of different partitions, to two server processes on one
 * PostgreSQL at once and then again, over each ingest route, is acknowledged every time, stored
 * once (with its first time) and appended to its tenant's log once.
 */

const requirePostgres = (await postgresReachable()) || Boolean(process.env.CI);
const TENANT = "resent";

/** An event time ten days into the month `offset` months from now (UTC). */
function inMonth(offset: number) {
  const now = new Date();
  return create(TimestampSchema, {
    seconds: BigInt(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 11) / 1000),
  });
}
/** Far past the partitions made ahead: the default partition's. */
const FAR = create(TimestampSchema, { seconds: 4_102_444_800n });

describe.runIf(requirePostgres)(
  "an event_id resent with another time, to two server processes",
  {
    timeout: 180_000,
  },
  () => {
    const dataDir = mkdtempSync(join(tmpdir(), "chaukas-resent-"));
    let db: Awaited<ReturnType<typeof createTestDatabase>>;
    const servers: ServerProcess[] = [];
    let key = "";

    beforeAll(async () => {
      db = await createTestDatabase();
      const args = ["--data-dir", dataDir, "--checkpoint-interval-ms", "200"];
      // The first creates the audit key in the shared data directory; the second reads it.
      servers.push(await startServerProcess(args, { env: { DATABASE_URL: db.url } }));
      servers.push(await startServerProcess(args, { env: { DATABASE_URL: db.url } }));
      const created = await runCli(["keys", "create", "--tenant", TENANT, "--role", "ingest"], {
        DATABASE_URL: db.url,
      });
      expect(created.code, created.stderr).toBe(0);
      key = created.stdout.trim().split("\n").at(-1) ?? "";
    });
    afterAll(async () => {
      killServerProcesses();
      await db?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    /** Each route sends one event in a batch and answers how many the server accepted. */
    const routes: [string, (baseUrl: string, event: Event) => Promise<number>][] = [
      [
        "gRPC IngestEventBatch",
        async (baseUrl, event) => {
          const client = createClient(ChaukasServerService, createGrpcTransport({ baseUrl }));
          const answer = await client.ingestEventBatch(
            { eventBatch: { events: [event] } },
            { headers: { authorization: `Bearer ${key}` } },
          );
          expect(answer.rejectedCount).toBe(0);
          return answer.acceptedCount;
        },
      ],
      [
        "REST POST /v1/events/batch",
        async (baseUrl, event) => {
          const answer = await fetch(`${baseUrl}/v1/events/batch`, {
            method: "POST",
            headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
            body: JSON.stringify({ events: [eventToRestJson(event)] }),
          });
          const body = (await answer.json()) as { accepted_count: number };
          expect(answer.status, JSON.stringify(body)).toBe(202);
          return body.accepted_count;
        },
      ],
      [
        "SDK POST /events/batch",
        async (baseUrl, event) => {
          const sdk = new SdkHttp(baseUrl);
          try {
            const answer = await sdk.post("/events/batch", batchRequestBytes([event]), {
              ...SDK_HEADERS,
              "content-type": "application/x-protobuf",
              authorization: `Bearer ${key}`,
            });
            expect(answer.status, answer.text).toBe(200);
            return (JSON.parse(answer.text) as { accepted: number }).accepted;
          } finally {
            sdk.close();
          }
        },
      ],
    ];

    it.each(routes)("over %s: stored once and logged once", async (name, send) => {
      const eventId = `resent-${name.replace(/\W+/g, "-")}`;
      const sent = (timestamp: typeof FAR) => makeEvent({ tenantId: TENANT, eventId, timestamp });
      const [a, b] = servers.map((server) => server.baseUrl);
      // At once to both processes, with this month's time and next month's, then again with a far one.
      expect(await Promise.all([send(a, sent(inMonth(0))), send(b, sent(inMonth(1)))])).toEqual([1, 1]);
      expect(await send(b, sent(FAR))).toBe(1);
      expect(await send(a, sent(inMonth(2)))).toBe(1);

      await withPostgres(db.url, async (sql) => {
        const { rows } = await sql.query<{ ts_ns: string }>("SELECT ts_ns FROM events WHERE event_id = $1", [eventId]);
        expect(rows).toHaveLength(1);
        const first = [inMonth(0), inMonth(1)].map((t) => String(t.seconds * 1_000_000_000n));
        expect(first).toContain(rows[0].ts_ns);
        const ids = await sql.query("SELECT ts_ns FROM event_ids WHERE event_id = $1", [eventId]);
        expect(ids.rows).toEqual(rows);
        // The lease holder's integrator appends it to the log within an interval or so.
        for (;;) {
          const queued = await sql.query("SELECT 1 FROM ingest_queue WHERE event_id = $1", [eventId]);
          if (queued.rowCount === 0) break;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        // One leaf of it in the whole log, and the by-event lookup finds that one.
        const leaves = await sql.query<{ position: string }>(
          `${WITH_LOG_LEAVES} SELECT position FROM leaves WHERE tenant_id = $1 AND event_id = $2`,
          [TENANT, eventId],
        );
        expect(leaves.rowCount).toBe(1);
        const found = await sql.query<{ position: string }>(
          `SELECT l.position FROM events e CROSS JOIN LATERAL chaukas_log_leaf(e.tenant_id, e.stored_xid, e.event_id) l
           WHERE e.tenant_id = $1 AND e.event_id = $2`,
          [TENANT, eventId],
        );
        expect(found.rows).toEqual(leaves.rows);
      });
    });

    it("keeps one log, with no gap and no repeat, of every event stored", async () => {
      await withPostgres(db.url, async (sql) => {
        // Positions and event ids are distinct by count, as audit_leaves' keys made them.
        const { rows } = await sql.query<{
          leaves: number;
          positions: number;
          logged: number;
          events: number;
          last: number | null;
        }>(
          `${WITH_LOG_LEAVES}
           SELECT (SELECT count(*)::int FROM leaves WHERE tenant_id = $1) AS leaves,
                  (SELECT count(DISTINCT position)::int FROM leaves WHERE tenant_id = $1) AS positions,
                  (SELECT count(DISTINCT event_id)::int FROM leaves WHERE tenant_id = $1) AS logged,
                  (SELECT count(*)::int FROM events WHERE tenant_id = $1) AS events,
                  (SELECT max(position)::int FROM leaves WHERE tenant_id = $1) AS last`,
          [TENANT],
        );
        const n = routes.length;
        expect(rows[0]).toEqual({ leaves: n, positions: n, logged: n, events: n, last: n - 1 });
      });
    });
  },
);
