import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { exitOf, type ServerProcess, startServerProcess } from "../../kit/server-process.ts";
import { createTestDatabase, storeKinds, withPostgres } from "../support/databases.ts";
import { type PrivateCluster, privateClustersAvailable, startPrivateCluster } from "../support/private-cluster.ts";

/**
 * `GET /readyz` of a real server process: ready while its database answers and holds every
 * migration, not ready through a PostgreSQL outage (of a cluster of the test's own) and ready again
 * after it with no restart, and not ready while it drains after SIGTERM, before its port closes.
 */

// Server processes, each a start and a stop, and a cluster stopped and started: slow on a busy machine.
const SLOW = { timeout: 180_000 };

async function readyz(server: ServerProcess): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${server.baseUrl}/readyz`);
  return { status: res.status, body: await res.json() };
}

/** Polls /readyz until it answers `status` (the server sees an outage at its next query). */
async function readyzUntil(server: ServerProcess, status: number) {
  for (;;) {
    const answer = await readyz(server);
    if (answer.status === status) return answer;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

let dataDir: string;
let server: ServerProcess | undefined;
beforeAll(() => {
  dataDir = mkdtempSync(join(tmpdir(), "chaukas-readyz-"));
});
afterEach(async () => {
  await server?.stop();
  server = undefined;
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe.skipIf(!privateClustersAvailable())("readiness across a PostgreSQL outage", () => {
  let cluster: PrivateCluster;
  beforeAll(async () => {
    cluster = await startPrivateCluster();
  });
  afterAll(async () => {
    await cluster?.destroy();
  });

  it("is ready, not ready while the database is down, ready again once it is back", SLOW, async () => {
    server = await startServerProcess(["--data-dir", dataDir, "--database-url", cluster.url]);
    expect(await readyz(server)).toEqual({ status: 200, body: { status: "ready" } });

    await cluster.stop();
    const down = await readyzUntil(server, 503);
    expect(down.body).toMatchObject({ error: "unavailable" });
    expect((down.body as { message: string }).message).toMatch(/^not ready: the database cannot be reached \(/);
    // Alive all the while: the process is not what is wrong.
    expect((await fetch(`${server.baseUrl}/metrics`)).status).toBe(200);

    await cluster.start();
    expect(await readyzUntil(server, 200)).toEqual({ status: 200, body: { status: "ready" } });
  });
});

describe.skipIf(!(await storeKinds()).includes("postgres"))("readiness of the schema and of shutting down", () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("is not ready while a migration it expects is missing", SLOW, async () => {
    server = await startServerProcess(["--data-dir", dataDir, "--database-url", db.url]);
    const [latest] = await withPostgres(db.url, async (client) => {
      const { rows } = await client.query(
        "DELETE FROM schema_migrations WHERE id = (SELECT max(id) FROM schema_migrations) RETURNING name",
      );
      return rows.map((row) => row.name as string);
    });
    expect(await readyz(server)).toEqual({
      status: 503,
      body: {
        error: "unavailable",
        message: `not ready: the database lacks migrations ${latest}: run \`chaukas migrate\``,
      },
    });
    await withPostgres(db.url, (client) =>
      client.query("INSERT INTO schema_migrations (name, run_on) VALUES ($1, now())", [latest]),
    );
    expect((await readyz(server)).status).toBe(200);
  });

  it("on SIGTERM answers not ready while it still serves, then closes", SLOW, async () => {
    // A drain far longer than the test needs: it ends at the server's exit, not at a clock.
    server = await startServerProcess(["--data-dir", dataDir, "--database-url", db.url, "--drain-ms", "10000"]);
    expect((await readyz(server)).status).toBe(200);
    const exited = exitOf(server.child);
    server.child.kill("SIGTERM");
    expect(await readyzUntil(server, 503)).toEqual({
      status: 503,
      body: { error: "unavailable", message: "not ready: shutting down" },
    });
    const health = await fetch(`${server.baseUrl}/healthz`);
    expect(health.status).toBe(200);
    // The log line comes through the server's stdout pipe, the answers through sockets: either may arrive first.
    await expect
      .poll(server.output)
      .toContain("SIGTERM: draining for 10000 ms (GET /readyz answers 503), then closing");
    expect(await exited).toBe(0);
    await expect(fetch(`${server.baseUrl}/readyz`)).rejects.toThrow();
  });
});
