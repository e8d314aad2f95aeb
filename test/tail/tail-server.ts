import type { AddressInfo } from "node:net";
import { type Client, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { TailService } from "../../gen/chaukas/backend/v1/tail_pb.ts";
import { ChaukasServerService } from "../../gen/chaukas/spec/server/v1/server_pb.ts";
import { buildServer } from "../../src/api/server.ts";
import { eventService, TAIL_POLL_MS } from "../../src/app.ts";
import { KeyAuthenticator } from "../../src/core/authenticator.ts";
import { createApiKey } from "../../src/core/key-admin.ts";
import { TailHub, type TailSettings } from "../../src/core/tail/tail-hub.ts";
import type { Database } from "../../src/store/database.ts";
import { testAuditTrail } from "../support/audit.ts";
import { openTestStore, type StoreKind } from "../support/databases.ts";
import { TEST_SERVER_OPTIONS } from "../support/server.ts";

/** The tail's settings in tests unless a test says otherwise: the defaults of the server. */
export const TEST_TAIL_SETTINGS: TailSettings = {
  pollMs: TAIL_POLL_MS,
  heartbeatMs: 15_000,
  maxStreamMs: 1_800_000,
  bufferEvents: 1000,
  maxTailsPerKey: 10,
};

/** The API keys of a tail server, each as its Authorization header. */
export interface TailKeys {
  admin: Headers;
  read: Headers;
  ingest: Headers;
  readWeb: Headers;
  otherTenant: Headers;
}

export interface TailServer {
  baseUrl: string;
  keys: TailKeys;
  store: Database;
  close: () => Promise<void>;
}

/** The real server with API keys and a live tail, over a fresh store of the given kind (tenant acme; globex beside it). */
export async function startTailServer(kind: StoreKind, settings: Partial<TailSettings> = {}): Promise<TailServer> {
  const opened = await openTestStore(kind);
  const store = opened.store;
  const key = async (tenantId: string, role: string, projects: string[] = []) =>
    new Headers({ authorization: `Bearer ${(await createApiKey(store.keys, { tenantId, role, projects })).secret}` });
  const keys: TailKeys = {
    admin: await key("acme", "admin"),
    read: await key("acme", "read"),
    ingest: await key("acme", "ingest"),
    readWeb: await key("acme", "read", ["web"]),
    otherTenant: await key("globex", "admin"),
  };
  const tail = new TailHub(store, { ...TEST_TAIL_SETTINGS, ...settings }, (err) => {
    throw err;
  });
  const app = await buildServer(eventService(store, { rbac: true }), {
    ...TEST_SERVER_OPTIONS,
    audit: testAuditTrail(store),
    authenticator: new KeyAuthenticator(store.keys, undefined, () => {}),
    tail,
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  return {
    baseUrl: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    keys,
    store,
    close: async () => {
      await app.close();
      await opened.close();
    },
  };
}

export function tailClient(transport: Transport): Client<typeof TailService> {
  return createClient(TailService, transport);
}

/** A Connect client of the ingest service over HTTP/2. */
export function ingestClient(baseUrl: string): Client<typeof ChaukasServerService> {
  return createClient(ChaukasServerService, createConnectTransport({ baseUrl, httpVersion: "2" }));
}
