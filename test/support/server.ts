import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { EventService } from "../../src/domain/event-service.ts";
import { PageTokenCodec } from "../../src/domain/page-token.ts";
import { buildServer, type ServerOptions } from "../../src/transport/server.ts";
import { openTestStore, type StoreKind } from "./databases.ts";

export interface TestServer {
  /** `http://127.0.0.1:<port>` */
  baseUrl: string;
  port: number;
  close: () => Promise<void>;
}

/** The real server on an ephemeral loopback port, over a fresh store of the given kind. */
export async function startTestServer(
  kind: StoreKind = "embedded",
  options: Partial<ServerOptions> = {},
): Promise<TestServer> {
  const { store, close: closeStore } = await openTestStore(kind);
  const events = new EventService(store, new PageTokenCodec(randomBytes(32)));
  const app = await buildServer(events, {
    maxBodyBytes: 4 * 1024 * 1024,
    corsOrigins: [],
    shutdownTimeoutMs: 1000,
    logger: false,
    ...options,
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    port,
    close: async () => {
      await app.close();
      await closeStore();
    },
  };
}
