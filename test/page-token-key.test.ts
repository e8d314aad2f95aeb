import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { exitOf, killServerProcesses, type ServerProcess, startServerProcess } from "../kit/server-process.ts";
import { createTestDatabase, storeKinds } from "./support/databases.ts";

/**
 * A page token is signed with a key kept in the database (server_secrets), not in the process: a
 * client paging through results keeps going when its next request reaches another server on the
 * same database, or the same one restarted.
 */

// biome-ignore lint/suspicious/noExplicitAny: a JSON answer, checked by the assertions.
type Json = Record<string, any>;

const SERVICE = "chaukas.spec.server.v1.ChaukasServerService";
const TENANT = "paging";

async function call(server: ServerProcess, method: string, body: unknown): Promise<Json> {
  const res = await fetch(`${server.baseUrl}/${SERVICE}/${method}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as Json;
  expect(res.status, JSON.stringify(json)).toBe(200);
  return json;
}

/** Stores events e1..e5 of one session, a second apart. */
async function storeFive(server: ServerProcess) {
  const events = [1, 2, 3, 4, 5].map((i) => ({
    eventId: `e${i}`,
    tenantId: TENANT,
    projectId: "web",
    sessionId: "s",
    type: "EVENT_TYPE_AGENT_START",
    timestamp: `2026-11-25T12:00:0${i}Z`,
  }));
  expect(await call(server, "IngestEventBatch", { eventBatch: { events } })).toMatchObject({ acceptedCount: 5 });
}

/** One page of two, oldest first: its event ids and the token for the next. */
async function page(server: ServerProcess, pageToken = "") {
  const { response } = await call(server, "QueryEvents", {
    query: { filter: { tenantId: TENANT }, pageSize: 2, pageToken, orderByTime: "SORT_ORDER_ASC" },
  });
  return {
    ids: (response.events ?? []).map((e: { eventId: string }) => e.eventId),
    next: response.nextPageToken ?? "",
  };
}

const serverArgs = (dataDir: string) => ["--data-dir", dataDir, "--insecure-no-auth"];

async function stop(server: ServerProcess): Promise<void> {
  server.child.kill("SIGTERM");
  expect(await exitOf(server.child)).toBe(0);
}

describe("page tokens across server processes (npm start)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "chaukas-paging-"));
  afterAll(() => {
    killServerProcesses();
    rmSync(dir, { recursive: true, force: true });
  });

  it("embedded: a token from before a restart pages on after it", { timeout: 90_000 }, async () => {
    const dataDir = join(dir, "embedded");
    const before = await startServerProcess(serverArgs(dataDir));
    await storeFive(before);
    const first = await page(before);
    expect(first.ids).toEqual(["e1", "e2"]);
    await stop(before);

    const after = await startServerProcess(serverArgs(dataDir));
    expect(await page(after, first.next)).toMatchObject({ ids: ["e3", "e4"] });
    await stop(after);
  });

  it.runIf((await storeKinds()).includes("postgres"))(
    "PostgreSQL: a token from one process pages on in another, and in the first restarted",
    { timeout: 90_000 },
    async () => {
      const db = await createTestDatabase();
      try {
        const env = { DATABASE_URL: db.url };
        // One data directory for the audit signing key both share (the database is the store).
        const args = serverArgs(join(dir, "postgres"));
        const one = await startServerProcess(args, { env });
        const two = await startServerProcess(args, { env });
        await storeFive(one);
        const first = await page(one);
        expect(first.ids).toEqual(["e1", "e2"]);
        const second = await page(two, first.next);
        expect(second.ids).toEqual(["e3", "e4"]);
        await stop(one);
        const restarted = await startServerProcess(args, { env });
        expect(await page(restarted, second.next)).toEqual({ ids: ["e5"], next: "" });
        // And the other way round: a token the restarted process issued works in the one that ran on.
        expect(await page(two, (await page(restarted, first.next)).next)).toEqual({ ids: ["e5"], next: "" });
        await stop(two);
        await stop(restarted);
      } finally {
        await db.drop();
      }
    },
  );
});
