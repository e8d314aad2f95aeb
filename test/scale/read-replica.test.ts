import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { killServerProcesses, type ServerProcess, startServerProcess } from "../../kit/server-process.ts";
import { adminKeyFile } from "../../src/app.ts";
import { ConfigError, loadConfig } from "../../src/config.ts";
import { AUDIT_SERVICE, connectJson, SERVER_SERVICE } from "../support/connect-json.ts";
import { withPostgres } from "../support/databases.ts";
import {
  type PrivateCluster,
  privateClustersAvailable,
  startPrivateCluster,
  startPrivateReplica,
} from "../support/private-cluster.ts";

/**
 * DATABASE_READ_URL against a real streaming replica (a private primary and a pg_basebackup of it):
 * queries read the replica, so with its replay paused they miss what the primary has since; ingest
 * and proofs of a checkpoint signed a moment ago still work, from the primary.
 */

const SLOW = { timeout: 180_000 };

const event = (eventId: string, second: number) => ({
  eventId,
  tenantId: "default",
  projectId: "web",
  sessionId: "s1",
  type: "EVENT_TYPE_SESSION_START",
  timestamp: `2026-11-25T12:00:0${second}Z`,
});

it("needs DATABASE_URL", () => {
  expect(() => loadConfig([], { DATABASE_READ_URL: "postgres://reader@replica/chaukas" })).toThrow(
    new ConfigError("--database-read-url needs --database-url: the embedded database has no replica"),
  );
});

describe.skipIf(!privateClustersAvailable())("a server with a read replica", () => {
  let primary: PrivateCluster;
  let replica: PrivateCluster;
  let server: ServerProcess;
  let key: string;
  const dataDir = mkdtempSync(join(tmpdir(), "chaukas-replica-"));
  const call = (path: string, body: unknown) => connectJson(server.baseUrl, path, body, key);
  const eventIds = async () => {
    const { body } = await call(`${SERVER_SERVICE}/QueryEvents`, {
      query: { filter: { tenantId: "default" }, orderByTime: "SORT_ORDER_ASC" },
    });
    return ((body.response as { events?: { eventId: string }[] }).events ?? []).map((e) => e.eventId);
  };

  beforeAll(async () => {
    primary = await startPrivateCluster();
    replica = await startPrivateReplica(primary);
    server = await startServerProcess([
      ...["--data-dir", dataDir, "--database-url", primary.url, "--database-read-url", replica.url],
      ...["--checkpoint-interval-ms", "100"],
    ]);
    key = readFileSync(adminKeyFile({ databaseUrl: primary.url, dataDir }), "utf8").trim();
  }, SLOW.timeout);
  afterAll(async () => {
    killServerProcesses();
    await replica?.destroy();
    await primary?.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Polls until `read` gives `expected` (a replica or the checkpoint interval is behind). */
  async function eventually<T>(read: () => Promise<T>, expected: T): Promise<void> {
    while (JSON.stringify(await read()) !== JSON.stringify(expected)) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  const latestSize = async () =>
    ((await call(`${AUDIT_SERVICE}/GetCheckpoint`, {})).body.checkpoint as { size?: string } | undefined)?.size;

  it("reads queries from the replica, and proofs of the newest checkpoint from the primary", SLOW, async () => {
    expect((await call(`${SERVER_SERVICE}/IngestEvent`, { event: event("r-1", 1) })).status).toBe(200);
    await eventually(eventIds, ["r-1"]);
    await eventually(latestSize, "1");

    // Hold the replica where it is: what the primary stores from now on, it does not have.
    await withPostgres(replica.url, (client) => client.query("SELECT pg_wal_replay_pause()"));
    expect((await call(`${SERVER_SERVICE}/IngestEvent`, { event: event("r-2", 2) })).status).toBe(200);
    // The latest checkpoint is read from the primary.
    await eventually(latestSize, "2");

    // The query reads the paused replica: the event acknowledged since is not there yet.
    expect(await eventIds()).toEqual(["r-1"]);
    // The proof of that event against the checkpoint just signed comes from the primary.
    const proof = await call(`${AUDIT_SERVICE}/GetInclusionProof`, { eventId: "r-2", treeSize: "2" });
    expect(proof).toMatchObject({ status: 200, body: { leafIndex: "1", checkpoint: { size: "2" } } });
    const consistency = await call(`${AUDIT_SERVICE}/GetConsistencyProof`, { fromSize: "1", toSize: "2" });
    expect(consistency.status).toBe(200);

    await withPostgres(replica.url, (client) => client.query("SELECT pg_wal_replay_resume()"));
    await eventually(eventIds, ["r-1", "r-2"]);
  });
});
