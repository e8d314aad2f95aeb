import type { AddressInfo } from "node:net";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SessionService, type SessionSummary } from "../../gen/chaukas/backend/v1/sessions_pb.ts";
import { type Event, EventStatus, EventTypeSchema, Severity } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import type { QueryFilterSchema } from "../../gen/chaukas/spec/common/v1/query_pb.ts";
import { ChaukasServerService } from "../../gen/chaukas/spec/server/v1/server_pb.ts";
import { Random } from "../../kit/random.ts";
import { buildServer } from "../../src/api/server.ts";
import { eventService } from "../../src/app.ts";
import { KeyAuthenticator } from "../../src/core/authenticator.ts";
import { createApiKey } from "../../src/core/key-admin.ts";
import { nsToTimestamp } from "../store/fixtures.ts";
import { testAuditTrail } from "../support/audit.ts";
import { openTestStore, storeKinds } from "../support/databases.ts";
import { TEST_SERVER_OPTIONS } from "../support/server.ts";
import { expectSessions, expectUsage } from "./expectations.ts";
import {
  type ExpectedSession,
  expectedSessions,
  expectedUsage,
  HOUR_NS,
  MINUTE_NS,
  sdkSessions,
  T0,
} from "./sdk-sessions.ts";

/**
 * ListSessions and GetUsage against figures computed here from the events sent, which go in
 * through the ingest RPCs (binary and JSON) and the integrator, as in production.
 */

type Filter = MessageInitShape<typeof QueryFilterSchema>;
const CALLERS = ["admin", "read", "read limited to web", "ingest", "admin of globex"] as const;
type Caller = (typeof CALLERS)[number];

const ACME = sdkSessions(7, "acme", ["web", "mobile"], 14);
const GLOBEX = sdkSessions(8, "globex", ["web"], 3);
const typeName = (type: number) => EventTypeSchema.value[type as keyof typeof EventTypeSchema.value].name;

describe.each(await storeKinds())("session views on the %s store", (kind) => {
  const secrets = new Map<Caller, string>();
  let baseUrl = "";
  let close: () => Promise<void> = async () => {};

  const withKey =
    (caller: Caller | undefined): Interceptor =>
    (next) =>
    (req) => {
      if (caller) req.header.set("authorization", `Bearer ${secrets.get(caller)}`);
      return next(req);
    };
  const connectJson = (caller?: Caller) =>
    createConnectTransport({ baseUrl, httpVersion: "1.1", interceptors: [withKey(caller)] });
  const transports: [string, (caller?: Caller) => Transport][] = [
    ["Connect JSON", connectJson],
    ["gRPC-Web", (caller) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1", interceptors: [withKey(caller)] })],
    ["gRPC", (caller) => createGrpcTransport({ baseUrl, interceptors: [withKey(caller)] })],
  ];

  beforeAll(async () => {
    const opened = await openTestStore(kind);
    const keys = opened.store.keys;
    const make = async (caller: Caller, tenantId: string, role: string, projects: string[] = []) =>
      secrets.set(caller, (await createApiKey(keys, { tenantId, role, projects })).secret);
    await make("admin", "acme", "admin");
    await make("read", "acme", "read");
    await make("read limited to web", "acme", "read", ["web"]);
    await make("ingest", "acme", "ingest");
    await make("admin of globex", "globex", "admin");
    const audit = testAuditTrail(opened.store);
    const authenticator = new KeyAuthenticator(keys, undefined, () => {});
    const app = await buildServer(eventService(opened.store, { rbac: true }), {
      ...TEST_SERVER_OPTIONS,
      audit,
      authenticator,
    });
    await app.listen({ host: "127.0.0.1", port: 0 });
    baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    close = async () => {
      await app.close();
      await opened.close();
    };

    // Out of order, in batches, half as binary (read from its bytes), half as JSON (decoded).
    const random = new Random(1);
    const all = random.shuffle([...ACME, ...GLOBEX]);
    for (let i = 0; i < all.length; i += 50) {
      const binary = i % 100 === 0;
      const transport = binary
        ? createConnectTransport({
            baseUrl,
            httpVersion: "1.1",
            useBinaryFormat: true,
            interceptors: [withKey("admin")],
          })
        : connectJson("admin");
      const events = all.slice(i, i + 50).filter((e) => e.tenantId === "acme");
      const globex = all.slice(i, i + 50).filter((e) => e.tenantId === "globex");
      for (const [batch, caller] of [
        [events, "admin"],
        [globex, "admin of globex"],
      ] as const) {
        if (batch.length === 0) continue;
        const client = createClient(ChaukasServerService, caller === "admin" ? transport : connectJson(caller));
        const answer = await client.ingestEventBatch({ eventBatch: { events: batch } });
        expect(answer.acceptedCount).toBe(batch.length);
      }
    }
    await audit.integrateAndSign();
  });
  afterAll(() => close());

  describe.each(transports)("over %s", (_, transport) => {
    const sessions = (caller: Caller = "read") => createClient(SessionService, transport(caller));

    it("lists every session with every figure, newest first, page by page", async () => {
      const got = await allPages(sessions(), { tenantId: "acme" }, 4);
      expectSessions(got, expectedSessions(ACME));
    });

    it("selects sessions by project, agent, status, severity, tags, text, session and start time", async () => {
      const day = (n: bigint) => nsToTimestamp(T0 + n * 24n * HOUR_NS);
      const refund = (e: Event) =>
        e.content.case === "toolCall" && String(e.content.value.arguments?.q).includes("refund");
      const cases: [Filter, (e: Event) => boolean, (s: ExpectedSession) => boolean][] = [
        [{ projectId: "mobile" }, (e) => e.projectId === "mobile", () => true],
        [{ agentId: "agent-7" }, (e) => e.agentId === "agent-7", () => true],
        [{ statuses: [EventStatus.FAILED] }, (e) => e.status === EventStatus.FAILED, () => true],
        [{ severities: [Severity.ERROR] }, (e) => e.severity === Severity.ERROR, () => true],
        [{ tags: ["vip"] }, (e) => e.tags.includes("vip"), () => true],
        [{ textQuery: "refund" }, refund, () => true],
        [{ sessionId: "acme-session-05" }, (e) => e.sessionId === "acme-session-05", () => true],
        [
          { time: { start: day(1n), end: day(2n) } },
          () => true,
          (s) => s.startNs >= T0 + 24n * HOUR_NS && s.startNs < T0 + 48n * HOUR_NS,
        ],
        [
          { projectId: "web", severities: [Severity.WARN, Severity.ERROR], time: { start: day(1n) } },
          (e) => e.projectId === "web" && (e.severity === Severity.WARN || e.severity === Severity.ERROR),
          (s) => s.startNs >= T0 + 24n * HOUR_NS,
        ],
      ];
      for (const [i, [filter, event, session]] of cases.entries()) {
        const want = expectedSessions(ACME).filter((s) => s.events.some(event) && session(s));
        expect(want.length, `case ${i}`).toBeGreaterThan(0);
        expect(want.length, `case ${i}`).toBeLessThan(expectedSessions(ACME).length - 1);
        expectSessions(await allPages(sessions(), { tenantId: "acme", ...filter }, 3), want);
      }
    });

    it("answers usage over time, by type, by model and by agent", async () => {
      const ranges: [
        MessageInitShape<typeof SessionService.method.getUsage.input>,
        bigint,
        { startNs: bigint; endNs: bigint },
        Event[],
      ][] = [
        // Whole hours: from the hourly rollup.
        [
          { timeRange: { start: nsToTimestamp(T0), end: nsToTimestamp(T0 + 96n * HOUR_NS) }, bucketSeconds: 21_600n },
          21_600n,
          { startNs: T0, endNs: T0 + 96n * HOUR_NS },
          ACME,
        ],
        // Ten minutes in one project, from a start inside a bucket: widened to whole buckets.
        [
          {
            projectId: "web",
            timeRange: { start: nsToTimestamp(T0 + 90n * MINUTE_NS + 17n), end: nsToTimestamp(T0 + 30n * HOUR_NS) },
            bucketSeconds: 600n,
          },
          600n,
          { startNs: T0 + 90n * MINUTE_NS, endNs: T0 + 30n * HOUR_NS },
          ACME.filter((e) => e.projectId === "web"),
        ],
        // Three days and no width: about 60 buckets of two hours.
        [
          { timeRange: { start: nsToTimestamp(T0), end: nsToTimestamp(T0 + 72n * HOUR_NS) } },
          7200n,
          { startNs: T0, endNs: T0 + 72n * HOUR_NS },
          ACME,
        ],
      ];
      for (const [request, bucketSeconds, range, events] of ranges) {
        const got = await sessions().getUsage({ tenantId: "acme", ...request });
        expect(got.bucketSeconds).toBe(bucketSeconds);
        const want = expectedUsage(events, typeName, { ...range, bucketNs: bucketSeconds * 1_000_000_000n });
        expect(want.totalEvents).toBeGreaterThan(0n);
        expectUsage(got, want);
      }
    });
  });

  it("keeps to the caller's tenant and projects, and refuses ingest keys and no key", async () => {
    const views = (caller?: Caller) => createClient(SessionService, connectJson(caller));
    const web = ACME.filter((e) => e.projectId === "web");
    // A key limited to one project reads it without naming it, and nothing else.
    expectSessions(await allPages(views("read limited to web"), {}, 50), expectedSessions(web));
    await expectCode(
      () => views("read limited to web").listSessions({ filter: { projectId: "mobile" } }),
      Code.PermissionDenied,
    );
    await expectCode(() => views("read limited to web").getUsage({ projectId: "mobile" }), Code.PermissionDenied);
    const range = { start: nsToTimestamp(T0), end: nsToTimestamp(T0 + 96n * HOUR_NS) };
    const usage = await views("read limited to web").getUsage({ timeRange: range, bucketSeconds: 86_400n });
    expectUsage(
      usage,
      expectedUsage(web, typeName, { startNs: T0, endNs: T0 + 96n * HOUR_NS, bucketNs: 24n * HOUR_NS }),
    );
    // Another tenant's key sees its own sessions only, and is refused acme's.
    expectSessions(await allPages(views("admin of globex"), {}, 50), expectedSessions(GLOBEX));
    await expectCode(
      () => views("admin of globex").listSessions({ filter: { tenantId: "acme" } }),
      Code.PermissionDenied,
    );
    await expectCode(() => views("admin of globex").getUsage({ tenantId: "acme" }), Code.PermissionDenied);
    await expectCode(() => views("ingest").listSessions({ filter: {} }), Code.PermissionDenied);
    await expectCode(() => views("ingest").getUsage({}), Code.PermissionDenied);
    await expectCode(() => views().listSessions({ filter: {} }), Code.Unauthenticated);
    // No filter at all: the key's tenant.
    expectSessions((await views("admin of globex").listSessions({ pageSize: 50 })).sessions, expectedSessions(GLOBEX));
  });

  it("refuses bad requests and a page token of another filter", async () => {
    const views = createClient(SessionService, connectJson("read"));
    const first = await views.listSessions({ filter: { tenantId: "acme" }, pageSize: 2 });
    expect(first.nextPageToken).not.toBe("");
    await expectCode(
      () =>
        views.listSessions({
          filter: { tenantId: "acme", projectId: "web" },
          pageSize: 2,
          pageToken: first.nextPageToken,
        }),
      Code.InvalidArgument,
    );
    await expectCode(() => views.listSessions({ filter: { tenantId: "acme" }, pageSize: -1 }), Code.InvalidArgument);
    await expectCode(() => views.getUsage({ bucketSeconds: 90n }), Code.InvalidArgument);
    await expectCode(
      () => views.getUsage({ timeRange: { start: nsToTimestamp(0n), end: nsToTimestamp(T0) }, bucketSeconds: 60n }),
      Code.InvalidArgument,
    );
  });
});

/** Every page of ListSessions for `filter`. */
async function allPages(
  client: Client<typeof SessionService>,
  filter: Filter,
  pageSize: number,
): Promise<SessionSummary[]> {
  const got: SessionSummary[] = [];
  let pageToken = "";
  do {
    const page = await client.listSessions({ filter, pageSize, pageToken });
    expect(page.sessions.length).toBeLessThanOrEqual(pageSize);
    got.push(...page.sessions);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return got;
}

async function expectCode(call: () => Promise<unknown>, code: Code): Promise<void> {
  try {
    await call();
  } catch (err) {
    expect(Code[ConnectError.from(err).code]).toBe(Code[code]);
    return;
  }
  throw new Error(`expected ${Code[code]}, the call succeeded`);
}
