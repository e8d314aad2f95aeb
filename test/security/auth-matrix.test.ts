import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { AuditService } from "../../gen/chaukas/backend/v1/audit_pb.ts";
import { ChaukasClientService } from "../../gen/chaukas/spec/client/v1/client_pb.ts";
import { ChaukasServerService } from "../../gen/chaukas/spec/server/v1/server_pb.ts";
import { buildServer } from "../../src/api/server.ts";
import { eventService } from "../../src/app.ts";
import { eventToRestJson } from "../../src/codec/formats/rest-json.ts";
import { UNRESTRICTED } from "../../src/core/access.ts";
import { KeyAuthenticator } from "../../src/core/authenticator.ts";
import { createApiKey } from "../../src/core/key-admin.ts";
import { testAuditTrail } from "../support/audit.ts";
import { openTestStore, storeKinds } from "../support/databases.ts";
import { makeEvent } from "../support/events.ts";
import { TEST_SERVER_OPTIONS } from "../support/server.ts";

/** Every kind of caller the matrix tries; the secret is filled in once keys exist. */
const CALLERS = [
  "no key",
  "malformed key",
  "unknown key",
  "revoked admin",
  "admin",
  "ingest",
  "read",
  "ingest limited to web",
  "read limited to web",
  "read limited to mobile",
  "admin of another tenant",
] as const;
type Caller = (typeof CALLERS)[number];

type Outcome = "ok" | "rejected" | "unauthenticated" | "permission_denied" | "not_found";
/**
 * `signing-key`: the audit key (public); `tenant-log`: a tenant's whole audit log; `read`: events of
 * acme/web; `read-one`: one event of acme/web by its id.
 */
type Action = "health" | "signing-key" | "capabilities" | "ingest" | "batch" | "read" | "read-one" | "tenant-log";

/** The rules of the security issue, written out: what each caller may do with tenant acme, project web. */
function expected(caller: Caller, action: Action): Outcome {
  if (action === "health" || action === "signing-key") return "ok";
  if (["no key", "malformed key", "unknown key", "revoked admin"].includes(caller)) return "unauthenticated";
  const role = caller.startsWith("admin") ? "admin" : caller.startsWith("ingest") ? "ingest" : "read";
  const needs = action === "ingest" || action === "batch" ? "ingest" : "read";
  if (role !== "admin" && role !== needs) return "permission_denied";
  if (action === "capabilities") return "ok";
  // A tenant's log (checkpoints, consistency) is open to every read key of the tenant, whatever its projects.
  if (action === "tenant-log") return caller === "admin of another tenant" ? "permission_denied" : "ok";
  const inScope = caller !== "admin of another tenant" && caller !== "read limited to mobile";
  if (inScope) return "ok";
  // One event of another project is answered as no such event: the key learns no id that exists.
  if (action === "read-one" && caller === "read limited to mobile") return "not_found";
  // A batch keeps its in-scope events and lists the others; everything else is refused whole.
  return action === "batch" ? "rejected" : "permission_denied";
}

interface Rpc {
  name: string;
  action: Action;
  call: (headers: Headers) => Promise<Outcome>;
}

const secrets = new Map<Caller, string>();
const AUDITED = "audited-event";

describe.each(await storeKinds())("every RPC x every protocol x every kind of key (%s)", (kind) => {
  let baseUrl = "";
  let close: () => Promise<void> = async () => {};

  beforeAll(async () => {
    const opened = await openTestStore(kind);
    const keys = opened.store.keys;
    const make = async (caller: Caller, tenantId: string, role: string, projects: string[] = []) =>
      secrets.set(caller, (await createApiKey(keys, { tenantId, role, projects })).secret);
    await make("admin", "acme", "admin");
    await make("ingest", "acme", "ingest");
    await make("read", "acme", "read");
    await make("ingest limited to web", "acme", "ingest", ["web"]);
    await make("read limited to web", "acme", "read", ["web"]);
    await make("read limited to mobile", "acme", "read", ["mobile"]);
    await make("admin of another tenant", "globex", "admin");
    const revoked = await createApiKey(keys, { tenantId: "acme", role: "admin", projects: [] });
    await keys.revokeKey(revoked.key.id);
    secrets.set("revoked admin", revoked.secret);
    secrets.set("malformed key", "not-a-key");
    secrets.set("unknown key", `chk_abcdefghijkm_${randomBytes(32).toString("base64url")}`);

    const events = eventService(opened.store, { rbac: true });
    const audit = testAuditTrail(opened.store);
    // One signed event of acme/web, for the audit RPCs to prove.
    await events.ingestEvent(UNRESTRICTED, makeEvent({ tenantId: "acme", projectId: "web", eventId: AUDITED }));
    await audit.integrateAndSign();
    const authenticator = new KeyAuthenticator(keys, undefined, () => {});
    const app = await buildServer(events, { ...TEST_SERVER_OPTIONS, audit, authenticator });
    await app.listen({ host: "127.0.0.1", port: 0 });
    baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    close = async () => {
      await app.close();
      await opened.close();
    };
  });
  afterAll(() => close());

  const transports: [string, () => Transport][] = [
    ["gRPC", () => createGrpcTransport({ baseUrl })],
    ["gRPC-Web", () => createGrpcWebTransport({ baseUrl, httpVersion: "1.1" })],
    ["Connect", () => createConnectTransport({ baseUrl, httpVersion: "1.1" })],
  ];

  const event = () => makeEvent({ tenantId: "acme", projectId: "web" });
  const filter = { tenantId: "acme", projectId: "web" };

  function connectRpcs(protocol: string, transport: () => Transport): Rpc[] {
    const server = () => createClient(ChaukasServerService, transport());
    const audit = () => createClient(AuditService, transport());
    const client = () => createClient(ChaukasClientService, transport());
    const rpc = (name: string, action: Action, body: (headers: Headers) => Promise<Outcome | undefined>): Rpc => ({
      name: `${protocol} ${name}`,
      action,
      call: async (headers) => {
        try {
          return (await body(headers)) ?? "ok";
        } catch (err) {
          const code = ConnectError.from(err).code;
          if (code === Code.Unauthenticated) return "unauthenticated";
          if (code === Code.PermissionDenied) return "permission_denied";
          if (code === Code.NotFound) return "not_found";
          throw err;
        }
      },
    });
    return [
      rpc("server.Healthz", "health", async (headers) => void (await server().healthz({}, { headers }))),
      rpc("server.GetCapabilities", "capabilities", async (headers) => {
        const res = await server().getCapabilities({}, { headers });
        expect(res.capabilities?.rbac).toBe(true);
        return undefined;
      }),
      rpc(
        "server.IngestEvent",
        "ingest",
        async (headers) => void (await server().ingestEvent({ event: event() }, { headers })),
      ),
      rpc("server.IngestEventBatch", "batch", async (headers) => {
        const res = await server().ingestEventBatch({ eventBatch: { events: [event()] } }, { headers });
        return res.rejectedCount > 0 ? "rejected" : "ok";
      }),
      rpc(
        "server.QueryEvents",
        "read",
        async (headers) => void (await server().queryEvents({ query: { filter } }, { headers })),
      ),
      rpc("server.GetEventStats", "read", async (headers) => void (await server().getEventStats(filter, { headers }))),
      rpc("client.Healthz", "health", async (headers) => void (await client().healthz({}, { headers }))),
      rpc(
        "client.GetCapabilities",
        "capabilities",
        async (headers) => void (await client().getCapabilities({}, { headers })),
      ),
      rpc(
        "client.IngestEvent",
        "ingest",
        async (headers) => void (await client().ingestEvent({ event: event() }, { headers })),
      ),
      rpc(
        "client.QueryEvents",
        "read",
        async (headers) => void (await client().queryEvents({ query: { filter } }, { headers })),
      ),
      rpc("audit.GetPublicKey", "signing-key", async (headers) => void (await audit().getPublicKey({}, { headers }))),
      rpc(
        "audit.GetCheckpoint",
        "tenant-log",
        async (headers) => void (await audit().getCheckpoint({ tenantId: "acme" }, { headers })),
      ),
      rpc(
        "audit.GetConsistencyProof",
        "tenant-log",
        async (headers) => void (await audit().getConsistencyProof({ tenantId: "acme", fromSize: 1n }, { headers })),
      ),
      rpc(
        "audit.GetInclusionProof",
        "read-one",
        async (headers) => void (await audit().getInclusionProof({ tenantId: "acme", eventId: AUDITED }, { headers })),
      ),
    ];
  }

  function restRpcs(): Rpc[] {
    const rest = (name: string, action: Action, method: string, path: string, body?: () => unknown): Rpc => ({
      name: `REST ${name}`,
      action,
      call: async (headers) => {
        headers.set("content-type", "application/json");
        const res = await fetch(`${baseUrl}${path}`, {
          method,
          headers,
          body: body ? JSON.stringify(body()) : undefined,
        });
        const json = (await res.json()) as { rejected_count?: number; rejected?: number };
        if (res.status === 401) return "unauthenticated";
        if (res.status === 403) return "permission_denied";
        expect(res.ok, `${method} ${path} answered ${res.status}`).toBe(true);
        return (json.rejected_count ?? json.rejected ?? 0) > 0 ? "rejected" : "ok";
      },
    });
    return [
      rest("GET /healthz", "health", "GET", "/healthz"),
      rest("GET /v1/capabilities", "capabilities", "GET", "/v1/capabilities"),
      rest("POST /v1/events", "ingest", "POST", "/v1/events", () => eventToRestJson(event())),
      rest("POST /v1/events/batch", "batch", "POST", "/v1/events/batch", () => ({
        events: [eventToRestJson(event())],
      })),
      rest("POST /v1/query", "read", "POST", "/v1/query", () => ({ filter: { tenant_id: "acme", project_id: "web" } })),
      rest("POST /events (SDK)", "ingest", "POST", "/events", () => ({ event: { ...jsonEvent() } })),
      rest("POST /events/batch (SDK)", "batch", "POST", "/events/batch", () => ({
        eventBatch: { events: [jsonEvent()] },
      })),
    ];
  }

  const jsonEvent = () => ({
    eventId: `sdk-${randomBytes(6).toString("hex")}`,
    tenantId: "acme",
    projectId: "web",
    sessionId: "s",
    type: "EVENT_TYPE_AGENT_START",
    timestamp: "2026-11-25T12:00:00Z",
  });

  const rpcs = () => [...transports.flatMap(([name, t]) => connectRpcs(name, t)), ...restRpcs()];

  test("each of the 11 callers x 49 RPC/protocol pairs gets exactly the outcome the rules give", async () => {
    const cells: string[] = [];
    for (const caller of CALLERS) {
      for (const rpc of rpcs()) {
        const headers = new Headers();
        const secret = secrets.get(caller);
        // The SDK's header for one half of the keys, X-Api-Key for the other: both must work alike.
        if (secret)
          headers.set(
            CALLERS.indexOf(caller) % 2 ? "x-api-key" : "authorization",
            CALLERS.indexOf(caller) % 2 ? secret : `Bearer ${secret}`,
          );
        const outcome = await rpc.call(headers);
        cells.push(`${caller} | ${rpc.name} -> ${outcome}`);
        expect(`${caller} | ${rpc.name} -> ${outcome}`).toBe(
          `${caller} | ${rpc.name} -> ${expected(caller, rpc.action)}`,
        );
      }
    }
    expect(cells).toHaveLength(CALLERS.length * 49);
  });
});
