import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Client, Code } from "@connectrpc/connect";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChaukasServerService } from "../../gen/chaukas/spec/server/v1/server_pb.ts";
import { killServerProcesses, startServerProcess } from "../../kit/server-process.ts";
import { eventService } from "../../src/app.ts";
import type { DatabaseTimeouts } from "../../src/store/sql/database-timeouts.ts";
import { openDatabase } from "../../src/store/sql/open-store.ts";
import { connectClient, connectErrorOf, newSession, storedEvents } from "../api/rpc/rpc.ts";
import { serve } from "../api/rpc/serve.ts";
import { testAuditTrail } from "../support/audit.ts";
import { createTestDatabase, storeKinds } from "../support/databases.ts";
import { makeEvent } from "../support/events.ts";

/**
 * Requests that wait on the events table while another session holds it locked: the statement
 * timeout, or an administrator ending the connection, answers `unavailable` (retryable), and the
 * batch of an ingest was stored whole or not at all.
 */

/** A client's deadline far past the server's bound, so a request that hangs fails instead of hanging the suite. */
const CLIENT_OPTIONS = { timeoutMs: 30_000 };
/** Each test's own bound: past the client's deadline, so a hang is reported by the assertions on the answer. */
const TEST_TIMEOUT_MS = 60_000;

const kinds = await storeKinds();

describe.skipIf(!kinds.includes("postgres"))(
  "PostgreSQL: requests waiting on a table locked by another session",
  () => {
    let db: Awaited<ReturnType<typeof createTestDatabase>>;
    /** Holds the lock; `watcher` looks on from outside its transaction (which sees one snapshot of activity). */
    let locker: pg.Client;
    let watcher: pg.Client;
    const closers: (() => Promise<unknown>)[] = [];

    /** The real server over a store of the test database with these bounds. */
    async function serveWith(timeouts: DatabaseTimeouts): Promise<Client<typeof ChaukasServerService>> {
      const log = { info: () => {}, error: () => {} };
      const store = await openDatabase({ kind: "postgres", databaseUrl: db.url, poolSize: 2, timeouts }, log);
      const served = await serve(eventService(store), {
        audit: testAuditTrail(store),
      });
      closers.push(
        () => served.closeGracefully(10_000),
        () => store.close(),
      );
      return connectClient(ChaukasServerService, served.baseUrl) as Client<typeof ChaukasServerService>;
    }

    const lockEvents = () => locker.query("BEGIN; LOCK TABLE events IN ACCESS EXCLUSIVE MODE");
    const unlock = () => locker.query("ROLLBACK");
    const batchOf = (sessionId: string) => [1, 2, 3].map(() => makeEvent({ sessionId }));

    beforeAll(async () => {
      db = await createTestDatabase();
      locker = new pg.Client({ connectionString: db.url });
      watcher = new pg.Client({ connectionString: db.url });
      await Promise.all([locker.connect(), watcher.connect()]);
    });
    afterAll(async () => {
      killServerProcesses();
      for (const close of closers) await close();
      await locker?.end();
      await watcher?.end();
      await db?.drop();
    });

    it(
      "past the statement timeout: unavailable with retry-after, nothing stored; sent again later, stored whole",
      async () => {
        const client = await serveWith({ statementMs: 1_000, connectMs: 5_000 });
        const sessionId = newSession();
        const events = batchOf(sessionId);

        await lockEvents();
        let err: Awaited<ReturnType<typeof connectErrorOf>>;
        try {
          err = await connectErrorOf(() => client.ingestEventBatch({ eventBatch: { events } }, CLIENT_OPTIONS));
        } finally {
          await unlock();
        }
        expect(Code[err.code]).toBe(Code[Code.Unavailable]);
        expect(err.rawMessage).toBe("the database did not answer in time");
        expect(err.metadata.get("retry-after")).toBe("1");
        expect(await storedEvents(client, sessionId)).toEqual([]);

        const res = await client.ingestEventBatch({ eventBatch: { events } }, CLIENT_OPTIONS);
        expect(res.acceptedCount).toBe(3);
        expect((await storedEvents(client, sessionId)).map((e) => e.eventId).sort()).toEqual(
          events.map((e) => e.eventId).sort(),
        );
      },
      TEST_TIMEOUT_MS,
    );

    it(
      "its connection ended by an administrator (57P01): unavailable, nothing stored; the server serves on",
      async () => {
        const client = await serveWith({ statementMs: 30_000, connectMs: 5_000 });
        const sessionId = newSession();

        await lockEvents();
        let err: Awaited<ReturnType<typeof connectErrorOf>>;
        try {
          const ingest = connectErrorOf(() =>
            client.ingestEventBatch({ eventBatch: { events: batchOf(sessionId) } }, CLIENT_OPTIONS),
          );
          // The backend waiting for the lock, ended as pg_terminate_backend (or a fast shutdown) ends it.
          let waiting: number | undefined;
          while (waiting === undefined) {
            const { rows } = await watcher.query<{ pid: number }>(
              "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
            );
            waiting = rows[0]?.pid;
          }
          await watcher.query("SELECT pg_terminate_backend($1)", [waiting]);
          err = await ingest;
        } finally {
          await unlock();
        }
        expect(Code[err.code]).toBe(Code[Code.Unavailable]);
        expect(err.rawMessage).toBe("the database cannot be reached");
        expect(await storedEvents(client, sessionId)).toEqual([]);
        expect((await client.ingestEventBatch({ eventBatch: { events: batchOf(sessionId) } })).acceptedCount).toBe(3);
      },
      TEST_TIMEOUT_MS,
    );

    it(
      "the server process (npm start) takes its bound from CHAUKAS_DB_STATEMENT_TIMEOUT_MS and logs the database's own error",
      async () => {
        const dataDir = mkdtempSync(join(tmpdir(), "chaukas-timeout-"));
        closers.push(async () => rmSync(dataDir, { recursive: true, force: true }));
        const server = await startServerProcess(["--insecure-no-auth", "--data-dir", dataDir], {
          env: { DATABASE_URL: db.url, CHAUKAS_DB_STATEMENT_TIMEOUT_MS: "1000" },
        });
        const client = connectClient(ChaukasServerService, server.baseUrl);

        await lockEvents();
        let err: Awaited<ReturnType<typeof connectErrorOf>>;
        let rest: Response;
        try {
          [err, rest] = await Promise.all([
            connectErrorOf(() => client.queryEvents({ query: { filter: { tenantId: "acme" } } }, CLIENT_OPTIONS)),
            fetch(`${server.baseUrl}/v1/query`, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({ filter: { tenant_id: "acme" } }),
              signal: AbortSignal.timeout(CLIENT_OPTIONS.timeoutMs),
            }),
          ]);
        } finally {
          await unlock();
        }
        expect(Code[err.code]).toBe(Code[Code.Unavailable]);
        expect(err.rawMessage).toBe("the database did not answer in time");
        expect([rest.status, rest.headers.get("retry-after"), await rest.json()]).toEqual([
          503,
          "1",
          { error: "unavailable", message: "the database did not answer in time" },
        ]);
        // The answers give no detail; the log keeps the database's own error.
        const lines = server.output().split("\n");
        for (const warning of [
          "rpc failed: the database is unavailable",
          "request failed: the database is unavailable",
        ]) {
          expect(lines.find((line) => line.includes(warning))).toContain(
            "canceling statement due to statement timeout",
          );
        }
      },
      TEST_TIMEOUT_MS,
    );
  },
);
