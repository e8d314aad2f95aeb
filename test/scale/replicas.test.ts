import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exitOf, killServerProcesses, type ServerProcess, startServerProcess } from "../../kit/server-process.ts";
import { KEY_CACHE_MS } from "../../src/core/authenticator.ts";
import { runCli } from "../cli/run-cli.ts";
import { Scrape } from "../ops/scrape.ts";
import { connectJson, SERVER_SERVICE } from "../support/connect-json.ts";
import { createTestDatabase, postgresReachable, withPostgres } from "../support/databases.ts";
import { WITH_LOG_LEAVES } from "../support/log-leaves.ts";

/**
 * Three server processes on one PostgreSQL, sharing the audit key (one data directory): loaded all
 * at once, one killed mid-load and another's database connections ended. Every acknowledged event
 * is stored once, each tenant has one gap-free log that `chaukas verify` passes, and the
 * background work runs on one process at a time, moving to another when its holder dies.
 * Rate limits are per process; a revoked key is refused by every process.
 */

const requirePostgres = (await postgresReachable()) || Boolean(process.env.CI);
const INTERVAL_MS = 500;
const TENANTS = ["north", "south"];
const RATE_LIMIT = 50;

describe.runIf(requirePostgres)("three server processes on one PostgreSQL", { timeout: 300_000 }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), "chaukas-replicas-"));
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  const servers = new Map<string, ServerProcess>();
  /** An ingest key of each tenant. */
  const keys = new Map<string, string>();
  /** Each process's connections carry its name, so the test can end them. */
  const urlOf = (name: string) => `${db.url}?application_name=chaukas-${name}`;
  const start = async (name: string) => {
    const server = await startServerProcess(
      ["--data-dir", dataDir, "--checkpoint-interval-ms", String(INTERVAL_MS), "--rate-limit", String(RATE_LIMIT)],
      { env: { DATABASE_URL: urlOf(name) } },
    );
    servers.set(name, server);
    return server;
  };
  const metricsOf = (name: string) => Scrape.of(`${servers.get(name)?.baseUrl}/metrics`);
  const integrations = async (names: string[]) =>
    Promise.all(
      names.map(async (name) =>
        (await metricsOf(name)).value("chaukas_db_statement_duration_seconds", { op: "audit.integrate" }),
      ),
    );
  /** The processes whose integrator ran between two scrapes a few intervals apart. */
  const integrating = async (names: string[]) => {
    const before = await integrations(names);
    await new Promise((resolve) => setTimeout(resolve, 3 * INTERVAL_MS));
    const after = await integrations(names);
    return names.filter((_, i) => after[i] > before[i]);
  };
  /** When (epoch ms, from its log) `name` last logged that it took the background lease. */
  const tookLeaseAt = (name: string) =>
    (servers.get(name)?.output() ?? "")
      .split("\n")
      .filter((line) => line.includes("holds the background lease"))
      .map((line) => (JSON.parse(line) as { time: number }).time)
      .at(-1);

  /** A new key's secret: the last line `keys create` prints. */
  const createKey = async (tenant: string, role: string) => {
    const created = await runCli(["keys", "create", "--tenant", tenant, "--role", role], { DATABASE_URL: db.url });
    expect(created.code, created.stderr).toBe(0);
    return created.stdout.trim().split("\n").at(-1) ?? "";
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    // The first creates the audit key in the shared data directory; the others read it.
    await start("a");
    await Promise.all([start("b"), start("c")]);
    for (const tenant of TENANTS) keys.set(tenant, await createKey(tenant, "ingest"));
  });
  afterAll(async () => {
    killServerProcesses();
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("keeps every acknowledged event once, in one gap-free verified log per tenant, across a kill and a lost connection", async () => {
    const names = ["a", "b", "c"];
    const [holder] = await integrating(names);
    expect(await integrating(names)).toEqual([holder]);
    const acknowledged = new Set<string>();

    /** Batches of 20 events, of each tenant in turn, to `name` until `stop`; each 200 answer acknowledges its batch. */
    let stop = false;
    const load = async (name: string) => {
      for (let batch = 0; !stop; batch++) {
        const server = servers.get(name);
        if (!server || server.child.exitCode !== null || server.child.signalCode !== null) return;
        const tenant = TENANTS[batch % TENANTS.length];
        const events = Array.from({ length: 20 }, (_, i) => ({
          eventId: `${name}-${batch}-${i}-${randomUUID().slice(0, 8)}`,
          tenantId: tenant,
          projectId: "web",
          sessionId: `s-${name}`,
          type: "EVENT_TYPE_TOOL_CALL_START",
          timestamp: "2026-12-01T10:00:00Z",
        }));
        const answer = await connectJson(
          server.baseUrl,
          `${SERVER_SERVICE}/IngestEventBatch`,
          { eventBatch: { events } },
          keys.get(tenant) ?? "",
        ).catch(() => undefined);
        if (answer?.status === 200 && answer.body.acceptedCount === 20)
          for (const e of events) acknowledged.add(e.eventId);
      }
    };
    const loads = names.map(load);
    await new Promise((resolve) => setTimeout(resolve, 2_000));

    // The holder of the background work dies mid-load; another takes it over within two intervals.
    const killedAt = Date.now();
    const holderProcess = servers.get(holder);
    if (!holderProcess) throw new Error(`no process ${holder}`);
    holderProcess.child.kill("SIGKILL");
    await exitOf(holderProcess.child);
    const survivors = names.filter((name) => name !== holder);
    let next: string | undefined;
    while (!next) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      next = survivors.find((name) => (tookLeaseAt(name) ?? 0) > killedAt);
    }
    expect(tookLeaseAt(next)).toBeLessThan(killedAt + 2 * INTERVAL_MS);

    // Then the new holder's database connections are ended under it: the work moves again, or it takes it back.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await withPostgres(db.url, (client) =>
      client.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", [
        `chaukas-${next}`,
      ]),
    );
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    stop = true;
    await Promise.all(loads);
    expect(acknowledged.size).toBeGreaterThan(0);

    // One process does the background work, and it catches up.
    const working = await integrating(survivors);
    expect(working).toHaveLength(1);
    await withPostgres(db.url, async (client) => {
      while ((await client.query("SELECT 1 FROM ingest_queue LIMIT 1")).rowCount) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const { rows: stored } = await client.query<{ event_id: string; n: number }>(
        "SELECT event_id, count(*)::int AS n FROM events GROUP BY event_id",
      );
      const storedIds = new Set(stored.map((row) => row.event_id));
      expect(stored.filter((row) => row.n > 1)).toEqual([]);
      expect([...acknowledged].filter((id) => !storedIds.has(id))).toEqual([]);
      // Every leaf, legacy rows and tiles; positions and event ids are distinct by count, as audit_leaves' keys made them.
      const { rows: logs } = await client.query(
        `${WITH_LOG_LEAVES}
         SELECT l.tenant_id, count(*)::int AS leaves, count(DISTINCT position)::int AS positions,
                count(DISTINCT event_id)::int AS logged, min(position)::int AS first, max(position)::int AS last,
                (SELECT count(*)::int FROM events e WHERE e.tenant_id = l.tenant_id) AS events
         FROM leaves l GROUP BY l.tenant_id ORDER BY l.tenant_id`,
      );
      expect(logs.map((row) => row.tenant_id)).toEqual(TENANTS.toSorted());
      for (const row of logs)
        expect(row).toEqual({
          ...row,
          leaves: row.events,
          positions: row.events,
          logged: row.events,
          first: 0,
          last: row.events - 1,
        });
    });
    // A checkpoint covers the whole log once the holder's next round has signed it.
    await new Promise((resolve) => setTimeout(resolve, 2 * INTERVAL_MS));
    for (const tenant of TENANTS) {
      const verified = await runCli(["verify", "--tenant", tenant], {
        DATABASE_URL: db.url,
        CHAUKAS_DATA_DIR: dataDir,
      });
      expect(verified.stderr + verified.stdout).not.toMatch(/fail|damaged/i);
      expect(verified.code).toBe(0);
    }
  });

  it("limits each key per process, and every process refuses a revoked key", async () => {
    const alive = [...servers.entries()].filter(([, s]) => s.child.exitCode === null && s.child.signalCode === null);
    const [[, first], [, second]] = alive;
    const limited = await createKey("north", "read");
    const capabilities = async (server: ServerProcess) => {
      const res = await fetch(`${server.baseUrl}/v1/capabilities`, { headers: { authorization: `Bearer ${limited}` } });
      await res.arrayBuffer();
      return res.status;
    };

    // More than a burst (twice the limit) at once on one process: some are refused there...
    const statuses = await Promise.all(Array.from({ length: 3 * RATE_LIMIT }, () => capabilities(first)));
    expect(new Set(statuses)).toContain(429);
    // ...while the other process has a bucket of its own for the same key.
    expect(await capabilities(second)).toBe(200);

    const id = limited.split("_")[1];
    expect((await runCli(["keys", "revoke", id], { DATABASE_URL: db.url })).code).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, KEY_CACHE_MS + 200));
    for (const [, server] of alive) expect(await capabilities(server)).toBe(401);
  });
});
