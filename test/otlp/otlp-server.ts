import type { AddressInfo } from "node:net";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { ChaukasClientService } from "../../gen/chaukas/spec/client/v1/client_pb.ts";
import type { Event } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import { SortOrder } from "../../gen/chaukas/spec/common/v1/query_pb.ts";
import { buildServer, type ServerOptions } from "../../src/api/server.ts";
import { eventService } from "../../src/app.ts";
import { KeyAuthenticator } from "../../src/core/authenticator.ts";
import type { IngestGate } from "../../src/core/ingest-gate.ts";
import { createApiKey } from "../../src/core/key-admin.ts";
import { testAuditTrail } from "../support/audit.ts";
import { openTestStore, type StoreKind } from "../support/databases.ts";
import { TEST_SERVER_OPTIONS } from "../support/server.ts";

export const TENANT = "acme";
export const PROJECT = "agents";

/** A server that checks keys, with an ingest key limited to PROJECT and a reader of the tenant. */
export interface OtlpTestServer {
  baseUrl: string;
  port: number;
  /** Ingest key of TENANT limited to PROJECT, as OTel exporters send it (`Authorization: Bearer`). */
  ingestKey: string;
  /** Ingest key of TENANT for any project: the project then comes from the resource. */
  tenantKey: string;
  /** The session's events, oldest first, read back through ChaukasClientService.QueryEvents. */
  query: (filter: { sessionId?: string; traceId?: string; projectId?: string }) => Promise<Event[]>;
  close: () => Promise<void>;
}

export async function startOtlpServer(
  kind: StoreKind,
  options: Partial<ServerOptions> = {},
  gate?: IngestGate,
): Promise<OtlpTestServer> {
  const opened = await openTestStore(kind);
  const ingestKey = (await createApiKey(opened.store.keys, { tenantId: TENANT, role: "ingest", projects: [PROJECT] }))
    .secret;
  const tenantKey = (await createApiKey(opened.store.keys, { tenantId: TENANT, role: "ingest", projects: [] })).secret;
  const readKey = (await createApiKey(opened.store.keys, { tenantId: TENANT, role: "read", projects: [] })).secret;
  const app = await buildServer(eventService(opened.store, { rbac: true, gate }), {
    ...TEST_SERVER_OPTIONS,
    audit: testAuditTrail(opened.store),
    authenticator: new KeyAuthenticator(opened.store.keys, undefined, () => {}),
    ...options,
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  const baseUrl = `http://127.0.0.1:${port}`;
  const client = createClient(
    ChaukasClientService,
    createConnectTransport({
      baseUrl,
      httpVersion: "1.1",
      interceptors: [
        (next) => (request) => {
          request.header.set("authorization", `Bearer ${readKey}`);
          return next(request);
        },
      ],
    }),
  );
  return {
    baseUrl,
    port,
    ingestKey,
    tenantKey,
    query: async (filter) => {
      const events: Event[] = [];
      let pageToken = "";
      do {
        const { response } = await client.queryEvents({
          query: { filter: { tenantId: TENANT, ...filter }, pageSize: 500, pageToken, orderByTime: SortOrder.ASC },
        });
        events.push(...(response?.events ?? []));
        pageToken = response?.nextPageToken ?? "";
      } while (pageToken);
      return events;
    },
    close: async () => {
      await app.close();
      await opened.close();
    },
  };
}
