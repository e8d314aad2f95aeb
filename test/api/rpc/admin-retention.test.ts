import type { AddressInfo } from "node:net";
import { type Client, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../../gen/chaukas/backend/v1/admin_pb.ts";
import { buildServer } from "../../../src/api/server.ts";
import { administration, eventService } from "../../../src/app.ts";
import { UNRESTRICTED } from "../../../src/core/access.ts";
import { testAuditTrail } from "../../support/audit.ts";
import { openTestStore, type StoreKind, storeKinds } from "../../support/databases.ts";
import { makeEvent } from "../../support/events.ts";
import { TEST_SERVER_OPTIONS } from "../../support/server.ts";

const DAY_S = 86_400n;
const nowS = BigInt(Math.floor(Date.now() / 1000));
const daysAgo = (days: number) => ({ seconds: nowS - BigInt(days) * DAY_S, nanos: 0 });

/**
 * AdminService's retention and erasure RPCs over real HTTP/2 (gRPC): the periods answered as set,
 * a retention run's purges, and an erasure's stream, one progress message per batch examined.
 */
describe.each(await storeKinds())("AdminService retention and erasure on the %s store", (kind: StoreKind) => {
  let app: FastifyInstance;
  let close: () => Promise<void>;
  let client: Client<typeof AdminService>;

  beforeAll(async () => {
    const opened = await openTestStore(kind);
    close = opened.close;
    const events = eventService(opened.store);
    // More than a batch of events whose payload holds the subject's value, under another key.
    const crowd = Array.from({ length: 1_050 }, (_, i) =>
      makeEvent({ tenantId: "rpc", eventId: `crowd-${i}`, timestamp: daysAgo(1), metadata: { note: "u-123" } }),
    );
    const subject = ["s-1", "s-2"].map((eventId) =>
      makeEvent({ tenantId: "rpc", eventId, projectId: "api", timestamp: daysAgo(1), metadata: { user_id: "u-123" } }),
    );
    const old = makeEvent({ tenantId: "rpc", eventId: "old", timestamp: daysAgo(40) });
    await events.ingestBatch(UNRESTRICTED, [...crowd.slice(0, 1000)]);
    await events.ingestBatch(UNRESTRICTED, [...crowd.slice(1000), ...subject, old]);
    app = await buildServer(events, {
      ...TEST_SERVER_OPTIONS,
      audit: testAuditTrail(opened.store),
      admin: administration(opened.store, events),
    });
    await app.listen({ host: "127.0.0.1", port: 0 });
    const { port } = app.server.address() as AddressInfo;
    client = createClient(
      AdminService,
      createConnectTransport({ baseUrl: `http://127.0.0.1:${port}`, httpVersion: "2" }),
    );
  }, 120_000);
  afterAll(async () => {
    await app?.close();
    await close?.();
  });

  it("sets, lists and runs retention periods", async () => {
    const set = await client.setRetentionPolicy({ tenantId: "rpc", projectId: "web", days: 30, setBy: "ops" });
    expect(set.policies.map((p) => [p.tenantId, p.projectId, p.days, p.setBy])).toEqual([["rpc", "web", 30, "ops"]]);
    const listed = await client.listRetentionPolicies({ tenantId: "rpc" });
    expect(listed.policies).toEqual(set.policies);
    const run = await client.runRetention({});
    expect(run.anotherProcessPurging).toBe(false);
    expect(run.purges.map((p) => [p.tenantId, p.projectId, p.count])).toEqual([["rpc", "web", 1n]]);
    expect(run.purges[0].recordId).toMatch(/^chaukas-purge-/);
    await client.setRetentionPolicy({ tenantId: "rpc", projectId: "web", days: 0 });
    expect((await client.listRetentionPolicies({ tenantId: "rpc" })).policies).toEqual([]);
  });

  it("streams an erasure by metadata: a progress message per batch, then the totals and the purge records", async () => {
    const items = [];
    for await (const { item } of client.eraseEvents({
      tenantId: "rpc",
      request: "DSR-1",
      metadata: { key: "user_id", value: "u-123" },
    })) {
      items.push(item);
    }
    expect(items.map((item) => item.case)).toEqual(["progress", "progress", "result"]);
    const progress = items.flatMap((item) => (item.case === "progress" ? [item.value] : []));
    expect(progress.map((p) => [p.eventsExamined, p.eventsErased])).toEqual([
      [1000n, 0n],
      [1052n, 2n],
    ]);
    const result = items.at(-1);
    if (result?.case !== "result") throw new Error("no result");
    expect([result.value.eventsExamined, result.value.eventsErased]).toEqual([1052n, 2n]);
    expect(result.value.purges.map((p) => [p.tenantId, p.projectId, p.count])).toEqual([["rpc", "api", 2n]]);
    expect(result.value.purges[0].recordId).toMatch(/^chaukas-purge-/);
  });
});
