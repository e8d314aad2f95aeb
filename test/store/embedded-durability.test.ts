import fs, { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { PGlite } from "@electric-sql/pglite";
import { afterAll, describe, expect, it } from "vitest";
import { ChaukasServerService } from "../../gen/chaukas/spec/server/v1/server_pb.ts";
import { exitOf, killServerProcesses, startServerProcess } from "../../kit/server-process.ts";
import { DEFAULT_EMBEDDED_CACHE_MB, pgliteOptions } from "../../src/store/sql/pglite-options.ts";
import { makeEvent } from "../support/events.ts";
import { QueryClient } from "../support/query-client.ts";

/** Two server starts, each allowed startServerProcess's 120 s. */
const TWO_STARTS_MS = 240_000;

/**
 * What the embedded database keeps when its process dies (docs/deployment.md#durability): every
 * acknowledged event survives the process being killed. A machine that stops is not covered:
 * PGlite runs PostgreSQL with fsync off, and with it on nothing is flushed either (the last two
 * tests hold the docs to both; should PGlite flush through Node's fs one day, they fail).
 */
describe("the embedded database's durability", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "chaukas-durability-"));
  afterAll(() => {
    killServerProcesses();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("keeps every event it acknowledged when the server is killed with SIGKILL", {
    timeout: TWO_STARTS_MS,
  }, async () => {
    const args = ["--data-dir", dataDir, "--insecure-no-auth"];
    const first = await startServerProcess(args);
    const batches = Array.from({ length: 10 }, () =>
      Array.from({ length: 50 }, () => makeEvent({ tenantId: "durable", sessionId: "killed" })),
    );
    const singles = Array.from({ length: 40 }, () => makeEvent({ tenantId: "durable", sessionId: "killed" }));
    const ingest = createClient(
      ChaukasServerService,
      createConnectTransport({ baseUrl: first.baseUrl, httpVersion: "1.1" }),
    );
    await Promise.all([
      ...batches.map((events) => ingest.ingestEventBatch({ eventBatch: { events } })),
      ...singles.map((event) => ingest.ingestEvent({ event })),
    ]);
    // Everything above was answered: acknowledged. Killed at once, before any clean shutdown.
    first.child.kill("SIGKILL");
    await exitOf(first.child);
    expect(first.child.signalCode).toBe("SIGKILL");

    const second = await startServerProcess(args);
    const reader = new QueryClient(second.baseUrl);
    try {
      const stored = await reader.all({ tenantId: "durable", sessionId: "killed" }, 1000);
      const sent = [...batches.flat(), ...singles].map((event) => event.eventId).sort();
      expect(stored.map((event) => event.eventId).sort()).toEqual(sent);
    } finally {
      reader.close();
      await second.stop();
    }
  });

  it("runs PostgreSQL with fsync off, as PGlite sets it", async () => {
    const db = await PGlite.create(pgliteOptions(DEFAULT_EMBEDDED_CACHE_MB));
    try {
      expect((await db.query<{ fsync: string }>("SHOW fsync")).rows).toEqual([{ fsync: "off" }]);
    } finally {
      await db.close();
    }
  });

  it("flushes nothing on commit even with fsync on: PGlite's Node.js file system has no fsync", async () => {
    const dir = mkdtempSync(join(tmpdir(), "chaukas-fsync-"));
    const { startParams = [] } = pgliteOptions(DEFAULT_EMBEDDED_CACHE_MB);
    const db = await PGlite.create(dir, { startParams: [...startParams, "-c", "fsync=on"] });
    const flushes: string[] = [];
    const { fsyncSync, fdatasyncSync } = fs;
    fs.fsyncSync = (fd) => {
      flushes.push("fsync");
      fsyncSync(fd);
    };
    fs.fdatasyncSync = (fd) => {
      flushes.push("fdatasync");
      fdatasyncSync(fd);
    };
    try {
      expect((await db.query<{ fsync: string }>("SHOW fsync")).rows).toEqual([{ fsync: "on" }]);
      await db.exec("CREATE TABLE committed (n int)");
      for (let n = 0; n < 20; n++) await db.query("INSERT INTO committed VALUES ($1)", [n]);
      await db.exec("CHECKPOINT");
      expect(flushes).toEqual([]);
    } finally {
      Object.assign(fs, { fsyncSync, fdatasyncSync });
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
