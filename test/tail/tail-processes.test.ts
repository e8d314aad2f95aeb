import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ChaukasServerService } from "../../gen/chaukas/spec/server/v1/server_pb.ts";
import { exitOf, killServerProcesses, type ServerProcess, startServerProcess } from "../../kit/server-process.ts";
import { createTestDatabase, postgresReachable } from "../support/databases.ts";
import { makeEvent } from "../support/events.ts";
import { GrpcJsTail } from "./grpc-js-tail.ts";

const requirePostgres = (await postgresReachable()) || Boolean(process.env.CI);

describe.runIf(requirePostgres)("live tails of server processes on one PostgreSQL", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "chaukas-tail-"));
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  const start = () =>
    startServerProcess(["--data-dir", dataDir, "--insecure-no-auth", "--tail-heartbeat-ms", "200"], {
      env: { DATABASE_URL: db.url },
    });
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    killServerProcesses();
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Writes `batches` batches of 10 events of acme to `server`, one after another; returns each batch's ids. */
  const write = async (server: ServerProcess, batches: number) => {
    const client = createClient(
      ChaukasServerService,
      createConnectTransport({ baseUrl: server.baseUrl, httpVersion: "2" }),
    );
    const written: string[][] = [];
    for (let b = 0; b < batches; b++) {
      const events = Array.from({ length: 10 }, () => makeEvent({ tenantId: "acme", projectId: "web" }));
      await client.ingestEventBatch({ eventBatch: { events } });
      written.push(events.map((e) => e.eventId));
    }
    return written;
  };
  const address = (server: ServerProcess) => new URL(server.baseUrl).host;
  /** The ids in batch order, each batch's in the tail's order (event id, within one transaction). */
  const inBatchOrder = (batches: string[][]) => batches.flatMap((batch) => [...batch].sort());

  /** Tails ask for batches (up to 500 events a response), as the dashboard does; one asks for single events. */
  const batched = (cursor: string) => ({ filter: { tenant_id: "acme" }, cursor, max_events_per_message: 500 });

  test("a tail on one process sees events written through another; after a kill its cursor resumes on a new process; shutdown ends streams with a cursor", {
    timeout: 120_000,
  }, async () => {
    const a = await start();
    const b = await start();
    const onA = new GrpcJsTail(address(a), batched(""));
    await onA.until((r) => r.some((item) => item.item === "heartbeat"));
    const start_cursor = onA.responses[0].cursor;

    const first = await write(b, 3);
    await onA.until(() => onA.eventIds.length >= 30);
    expect(onA.eventIds).toEqual(inBatchOrder(first));
    expect(onA.responses.some((r) => r.item === "event")).toBe(false);
    // A batch of the ingest is one transaction, read at once: its events (and any read with them) share a response.
    const sizes = onA.responses.filter((r) => r.item === "events").map((r) => r.events.events.length);
    expect(Math.max(...sizes)).toBeGreaterThanOrEqual(10);
    const resumeAt = onA.responses.filter((r) => r.item === "events").at(-1)?.cursor;

    a.child.kill("SIGKILL");
    await exitOf(a.child);
    onA.close();
    const second = await write(b, 3);
    const a2 = await start();
    const resumed = new GrpcJsTail(address(a2), batched(resumeAt));
    await resumed.until(() => resumed.eventIds.length >= 30);
    expect(resumed.eventIds).toEqual(inBatchOrder(second));

    // From the first cursor, on the other process: every event once, in the same order.
    const onB = new GrpcJsTail(address(b), batched(start_cursor));
    await onB.until(() => onB.eventIds.length >= 60);
    expect(onB.eventIds).toEqual([...inBatchOrder(first), ...inBatchOrder(second)]);

    await b.stop();
    await onB.until(() => onB.ended);
    const last = onB.responses.at(-1);
    expect(last?.item).toBe("end");
    expect(last?.end.reason).toBe("REASON_SHUTDOWN");
    expect(onB.eventIds).toHaveLength(60);

    // The shutdown's cursor resumes after everything sent: nothing more, nothing again.
    await write(a2, 1).then(async ([batch]) => {
      const after = new GrpcJsTail(address(a2), { filter: { tenant_id: "acme" }, cursor: last?.cursor });
      await after.until(() => after.eventIds.length >= 10);
      expect(after.eventIds).toEqual([...batch].sort());
      after.close();
    });
    resumed.close();
    await a2.stop();
  });
});
