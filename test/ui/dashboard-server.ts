import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Event } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import { SDK_HEADERS } from "../../kit/sdk-headers.ts";
import { startServerProcess } from "../../kit/server-process.ts";
import { createApiKey } from "../../src/core/key-admin.ts";
import { openDatabase } from "../../src/store/sql/open-store.ts";
import { batchRequestBytes } from "../api/http/sdk/sdk-like.ts";
import { createTestDatabase, type StoreKind } from "../support/databases.ts";

export interface DashboardServer {
  baseUrl: string;
  /** A read key of `tenant`: what the dashboard signs in with. */
  readKey: string;
  /** Sends events as the Python SDK does: a binary batch to /events/batch with its headers. */
  ingest: (events: Event[]) => Promise<void>;
  output: () => string;
  close: () => Promise<void>;
}

const quietLog = { info: () => {}, error: () => {} };

/**
 * The server as `npm start` runs it (a process, dashboard and checkpointer included) on a fresh
 * store of the given kind, with a read key and an ingest key of `tenant` made beforehand.
 */
export async function startDashboardServer(
  kind: StoreKind,
  tenant: string,
  args: string[] = [],
): Promise<DashboardServer> {
  const dataDir = mkdtempSync(join(tmpdir(), "chaukas-ui-"));
  const database = kind === "postgres" ? await createTestDatabase() : undefined;
  const store = await openDatabase(
    database ? { kind: "postgres", databaseUrl: database.url, poolSize: 2 } : { kind: "embedded", dataDir },
    quietLog,
  );
  const readKey = (await createApiKey(store.keys, { tenantId: tenant, role: "read", projects: [] })).secret;
  const ingestKey = (await createApiKey(store.keys, { tenantId: tenant, role: "ingest", projects: [] })).secret;
  await store.close();

  const server = await startServerProcess(["--data-dir", dataDir, "--checkpoint-interval-ms", "200", ...args], {
    env: { DATABASE_URL: database?.url ?? "" },
  });
  return {
    baseUrl: server.baseUrl,
    readKey,
    output: server.output,
    ingest: async (events) => {
      const answer = await fetch(`${server.baseUrl}/events/batch`, {
        method: "POST",
        headers: { ...SDK_HEADERS, authorization: `Bearer ${ingestKey}` },
        body: batchRequestBytes(events),
      });
      if (answer.status !== 200) throw new Error(`ingest answered ${answer.status}: ${await answer.text()}`);
    },
    close: async () => {
      await server.stop();
      await database?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
