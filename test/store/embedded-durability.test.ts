import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
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
 * acknowledged event survives the process being killed. A machine that stops is not covered, as
 * PGlite runs PostgreSQL with fsync off (the second test holds the docs to that setting).
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
    const agent = new http.Agent({ keepAlive: true });
    const batches = Array.from({ length: 10 }, () =>
      Array.from({ length: 50 }, () => makeEvent({ tenantId: "durable", sessionId: "killed" })),
    );
    const singles = Array.from({ length: 40 }, () => makeEvent({ tenantId: "durable", sessionId: "killed" }));
    try {
      const ingest = createClient(
        ChaukasServerService,
        createConnectTransport({ baseUrl: first.baseUrl, httpVersion: "1.1", nodeOptions: { agent } }),
      );
      await Promise.all([
        ...batches.map((events) => ingest.ingestEventBatch({ eventBatch: { events } })),
        ...singles.map((event) => ingest.ingestEvent({ event })),
      ]);
    } finally {
      agent.destroy();
    }
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
});
