import type { AddressInfo } from "node:net";
import { BodyBudget } from "../../src/api/http/body-budget.ts";
import { buildServer, type ServerOptions } from "../../src/api/server.ts";
import { eventService } from "../../src/app.ts";
import type { AuditTrail } from "../../src/core/audit/audit-trail.ts";
import { NO_AUTH } from "../../src/core/authenticator.ts";
import type { IngestGate } from "../../src/core/ingest-gate.ts";
import { testAuditTrail } from "./audit.ts";
import { openTestStore, type StoreKind } from "./databases.ts";

/** What test servers run with unless a test says otherwise. */
export const TEST_SERVER_OPTIONS = {
  maxBodyBytes: 4 * 1024 * 1024,
  // A getter, so each server spread from these options gets a budget of its own.
  get bodyBudget() {
    return new BodyBudget(64 * 1024 * 1024);
  },
  corsOrigins: [],
  shutdownTimeoutMs: 1000,
  sdkPathPrefix: "",
  otlp: { maxBodyBytes: 20 * 1024 * 1024, pathPrefix: "" },
  logger: false,
  // Keys are not checked unless a test passes an authenticator of its own.
  authenticator: NO_AUTH,
} satisfies Omit<ServerOptions, "audit">;

export interface TestServer {
  /** `http://127.0.0.1:<port>` */
  baseUrl: string;
  port: number;
  /** The server's audit trail: tests sign checkpoints with `integrateAndSign()` when they need them. */
  audit: AuditTrail;
  close: () => Promise<void>;
}

/**
 * The real server on an ephemeral loopback port, over a fresh store of the given kind. `gate`
 * replaces the default ingest bound (tests of backpressure pass a small one).
 */
export async function startTestServer(
  kind: StoreKind = "embedded",
  options: Partial<ServerOptions> = {},
  gate?: IngestGate,
): Promise<TestServer> {
  const { store, close: closeStore } = await openTestStore(kind);
  const events = eventService(store, { gate });
  const audit = testAuditTrail(store);
  const app = await buildServer(events, { ...TEST_SERVER_OPTIONS, audit, ...options });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    port,
    audit,
    close: async () => {
      await app.close();
      await closeStore();
    },
  };
}
