import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createConnectTransport } from "@connectrpc/connect-node";
import pg from "pg";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminKeyFile, buildServerApp, type ServerApp } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import { AUDIT_SERVICE, connectJson, SERVER_SERVICE } from "../support/connect-json.ts";
import { createTestDatabase, postgresReachable, withPostgres } from "../support/databases.ts";
import { tailClient } from "../tail/tail-server.ts";

/**
 * Ready for Citus (docs/scaling.md): every statement a server sends while it serves names one
 * tenant, so a distributed table routes it to one shard. The test records every statement the
 * server's connections send through representative traffic (ingest, queries, stats, sessions,
 * usage, proofs, the live tail, the integrator and checkpoints) and fails on one that names no tenant_id,
 * unless it is on the short list below of statements that are global by design.
 */

/** Statements that touch no tenant's rows, or every tenant's on purpose (server jobs), with why. */
const GLOBAL_STATEMENTS: [RegExp, string][] = [
  [/^(BEGIN|COMMIT|ROLLBACK)\b/, "transaction control; the tenant is set inside (SET LOCAL chaukas.tenant_id)"],
  [/^SELECT set_config\('chaukas\.tenant_id', '[^']*', true\)$/, "the transaction's tenant setting; names no table"],
  [/^SELECT 1$/, "ping, the lease's liveness check"],
  [/pg_try_advisory(_xact)?_lock/, "the background lease and the integrator's lock: one per database"],
  [/FROM api_keys|UPDATE api_keys/, "API keys: a reference table, looked up by key id before the tenant is known"],
  [/server_secrets/, "shared secrets: a reference table"],
  [/audit_signing_keys/, "checkpoint signing keys, one list for the database: a reference table"],
  [/FROM schema_migrations/, "readiness: the applied migrations"],
  [/^SELECT count\(\*\)::int AS n FROM ingest_queue$/, "metrics: the queue depth of every tenant"],
  [/DELETE FROM ingest_queue/, "the integrator takes the queue of every tenant (a multi-shard job)"],
  [
    /^SELECT tenant_id, size, compact_range FROM audit_heads h\s+WHERE size >/,
    "signing: the logs that grew, of every tenant",
  ],
  [/FROM usage_backfill/, "the integrator's backfill of events stored before the usage rollups"],
  [/chaukas_prepare_event_partitions/, "the lease holder creates the monthly partitions of every tenant's events"],
];

/**
 * Whether a statement names its tenant: compares tenant_id (of any alias) with a value, not only
 * with another column, or inserts rows whose tenant_id it gives.
 */
function namesTenant(text: string): boolean {
  return /\btenant_id\s*=\s*(\$\d+|ANY\b|'|current_setting)|INSERT INTO \w+ \(tenant_id\b/.test(text);
}

const requirePostgres = (await postgresReachable()) || Boolean(process.env.CI);

describe.runIf(requirePostgres)("the statements of a serving server", { timeout: 120_000 }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), "chaukas-statements-"));
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let app: ServerApp;
  let baseUrl: string;
  let key: string;
  const recorded = new Set<string>();
  const query = pg.Client.prototype.query;

  beforeAll(async () => {
    db = await createTestDatabase();
    const config = loadConfig(
      ["--data-dir", dataDir, "--port", "0", "--checkpoint-interval-ms", "100", "--tail-heartbeat-ms", "100"],
      {
        DATABASE_URL: db.url,
      },
    );
    app = await buildServerApp(config, pino({ level: "silent" }));
    await app.server.listen({ host: "127.0.0.1", port: 0 });
    app.queueDrain.start();
    baseUrl = `http://127.0.0.1:${(app.server.server.address() as { port: number }).port}`;
    key = readFileSync(adminKeyFile({ databaseUrl: db.url, dataDir }), "utf8").trim();
    // From here on, every statement of every connection: start-up (migrations, the first key) is admin work.
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      const [first] = args;
      const text = typeof first === "string" ? first : (first as { text?: string } | undefined)?.text;
      if (text) recorded.add(text.replace(/\s+/g, " ").trim());
      return (query as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof query;
    app.partitionJob.start();
  });
  afterAll(async () => {
    pg.Client.prototype.query = query;
    await app?.server.close();
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("name one tenant_id each, but for the global ones listed", async () => {
    const call = async (path: string, body: unknown) => {
      const answer = await connectJson(baseUrl, path, body, key);
      expect(answer.status, `${path}: ${JSON.stringify(answer.body)}`).toBe(200);
      return answer.body;
    };
    const events = ["e-1", "e-2", "e-3"].map((eventId, i) => ({
      eventId,
      tenantId: "default",
      projectId: "web",
      sessionId: "s-1",
      type: i === 0 ? "EVENT_TYPE_SESSION_START" : "EVENT_TYPE_MODEL_INVOCATION_START",
      timestamp: `2026-12-01T10:00:0${i}Z`,
      tags: ["t"],
    }));
    await call(`${SERVER_SERVICE}/IngestEventBatch`, { eventBatch: { events } });
    await call(`${SERVER_SERVICE}/IngestEvent`, { event: events[0] });
    const range = { start: "2026-12-01T00:00:00Z", end: "2026-12-02T00:00:00Z" };
    const page = await call(`${SERVER_SERVICE}/QueryEvents`, {
      query: { filter: { tenantId: "default", sessionId: "s-1", tags: ["t"], textQuery: "x" }, pageSize: 1 },
    });
    await call(`${SERVER_SERVICE}/QueryEvents`, { query: { filter: { tenantId: "default" }, pageSize: 1 } });
    expect(page).toBeDefined();
    await call(`${SERVER_SERVICE}/GetEventStats`, { tenantId: "default", timeRange: range });
    await call("chaukas.backend.v1.SessionService/ListSessions", { filter: { tenantId: "default" } });
    await call("chaukas.backend.v1.SessionService/GetUsage", { timeRange: range });
    let checkpoint: { size?: string } | undefined;
    while (checkpoint?.size !== "3") {
      await new Promise((resolve) => setTimeout(resolve, 100));
      checkpoint = (await connectJson(baseUrl, `${AUDIT_SERVICE}/GetCheckpoint`, {}, key)).body
        .checkpoint as typeof checkpoint;
    }
    await call(`${AUDIT_SERVICE}/GetInclusionProof`, { eventId: "e-2" });
    await call(`${AUDIT_SERVICE}/GetConsistencyProof`, { fromSize: "3", toSize: "3" });
    await call(`${SERVER_SERVICE}/IngestEventBatch`, {
      eventBatch: { events: [{ ...events[1], eventId: "e-4", timestamp: "2026-12-01T10:00:09Z" }] },
    });
    // A live tail from the start of the log, to its first heartbeat.
    const transport = createConnectTransport({
      baseUrl,
      httpVersion: "1.1",
      interceptors: [
        (next) => (req) => {
          req.header.set("authorization", `Bearer ${key}`);
          return next(req);
        },
      ],
    });
    const stop = new AbortController();
    const tail = tailClient(transport).tailEvents({ filter: { tenantId: "default" } }, { signal: stop.signal });
    const items: string[] = [];
    try {
      for await (const response of tail) {
        items.push(response.item.case ?? "");
        if (response.item.case === "heartbeat") break;
      }
    } finally {
      stop.abort();
    }
    expect(items).toContain("heartbeat");

    const unscoped = [...recorded].filter(
      (text) => !namesTenant(text) && !GLOBAL_STATEMENTS.some(([pattern]) => pattern.test(text)),
    );
    expect(unscoped).toEqual([]);
    // Every upsert's conflict target is a key that leads with the tenant, as a distributed table needs.
    const targets = [...recorded].flatMap((text) => [...text.matchAll(/ON CONFLICT \(([^)]*)\)/g)].map((m) => m[1]));
    expect(targets.filter((target) => !target.startsWith("tenant_id") && target !== "name")).toEqual([]);
    // The traffic reached the statements that matter.
    expect([...recorded].some((text) => text.includes("INSERT INTO events"))).toBe(true);
    expect([...recorded].some((text) => text.includes("DELETE FROM ingest_queue"))).toBe(true);
    expect([...recorded].some((text) => text.includes("chaukas_prepare_event_partitions"))).toBe(true);
  });

  it("key every table of tenants' rows by tenant_id: primary keys, unique constraints, foreign keys", async () => {
    const { rows } = await withPostgres(db.url, (client) =>
      client.query<{ table: string; definition: string }>(
        `SELECT conrelid::regclass::text AS table, pg_get_constraintdef(oid) AS definition FROM pg_constraint
         WHERE connamespace = 'public'::regnamespace AND contype IN ('p', 'u', 'f')`,
      ),
    );
    // The global tables: keys and secrets (reference tables under Citus), and the migrations' own.
    const global = new Set(["api_keys", "server_secrets", "audit_signing_keys", "schema_migrations"]);
    const keyed = rows.filter((row) => !global.has(row.table));
    expect(keyed.length).toBeGreaterThan(10);
    expect(keyed.filter((row) => !/^(PRIMARY KEY|UNIQUE|FOREIGN KEY) \(tenant_id\b/.test(row.definition))).toEqual([]);
  });
});
