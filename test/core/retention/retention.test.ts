import { createWriteStream } from "node:fs";
import { join } from "node:path";
import { finished } from "node:stream/promises";
import { create, toJsonString } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Event, EventSchema, EventType } from "../../../gen/chaukas/spec/common/v1/events_pb.ts";
import { QueryRequestSchema, SortOrder } from "../../../gen/chaukas/spec/common/v1/query_pb.ts";
import { eventService } from "../../../src/app.ts";
import { directBackend } from "../../../src/cli/direct-backend.ts";
import { exportJsonl } from "../../../src/cli/export-command.ts";
import { printVerification, verifyExport } from "../../../src/cli/verify-command.ts";
import { type Principal, UNRESTRICTED } from "../../../src/core/access.ts";
import type { AuditTrail } from "../../../src/core/audit/audit-trail.ts";
import { verifyDatabase } from "../../../src/core/audit/database-verification.ts";
import { fromStoredEvent } from "../../../src/core/event-record.ts";
import { PURGE_SESSION, purgeMarkOf } from "../../../src/core/retention/purge-record.ts";
import {
  erase,
  MAX_RETENTION_DAYS,
  purgeExpired,
  setRetention,
  showRetention,
} from "../../../src/core/retention/retention.ts";
import { InvalidArgumentError } from "../../../src/lib/errors.ts";
import { leafHash, verifyConsistency, verifyInclusion } from "../../../src/lib/merkle.ts";
import type { Database } from "../../../src/store/database.ts";
import { tempDir } from "../../cli/run-cli.ts";
import { testAuditTrail } from "../../support/audit.ts";
import { openTestStore, type StoreKind, storeKinds, withPostgres } from "../../support/databases.ts";
import { makeEvent } from "../../support/events.ts";

/**
 * Retention and erasure on real stores: content goes, leaves stay, so proofs served before a purge
 * still verify after it, `chaukas verify` passes and lists each purge, and queries say what went.
 */

const DAY_S = 86_400n;
/** Times the events are stamped with, and the job's "now". */
const NOW = new Date("2026-06-01T00:00:00Z");
const nowS = BigInt(NOW.getTime() / 1000);
/** The event of that id among `events`; fails the test if there is none. */
function eventOf(events: Event[], eventId: string): Event {
  const event = events.find((candidate) => candidate.eventId === eventId);
  if (!event) throw new Error(`no event ${eventId}`);
  return event;
}
const asJson = (events: Event[]) => events.map((event) => toJsonString(EventSchema, event)).join("\n");
type InclusionProof = Awaited<ReturnType<AuditTrail["inclusionProof"]>>;
const at = (daysAgo: number) => ({ seconds: nowS - BigInt(daysAgo) * DAY_S, nanos: 5 });

describe.each(await storeKinds())("retention and erasure on the %s store", (kind: StoreKind) => {
  let store: Database;
  let close: () => Promise<void>;
  let url: string | undefined;
  let trail: AuditTrail;
  const dir = tempDir();

  beforeAll(async () => {
    ({ store, close, url } = await openTestStore(kind));
    trail = testAuditTrail(store);
  });
  afterAll(async () => {
    await close();
    dir.remove();
  });

  const ingest = async (tenantId: string, events: Parameters<typeof makeEvent>[0][]) => {
    await eventService(store).ingestBatch(
      UNRESTRICTED,
      events.map((init) => makeEvent({ tenantId, ...init })),
    );
    await trail.integrateAndSign();
  };
  const query = async (tenantId: string, filter: object = {}) => {
    const page = await eventService(store).queryEvents(
      UNRESTRICTED,
      create(QueryRequestSchema, { filter: { tenantId, ...filter }, pageSize: 100, orderByTime: SortOrder.ASC }),
    );
    return page.events.map(fromStoredEvent);
  };
  const verify = async (tenantId: string) => {
    const verifier = await verifyDatabase(store, tenantId, trail.signer.verifierKey);
    const lines: string[] = [];
    const code = printVerification(verifier.outcome(), (line) => lines.push(line));
    return { code, lines, verifier };
  };

  /**
   * A purged event's proof served before the purge still verifies, and so do one from the newest
   * checkpoint (same leaf) and the consistency of the two checkpoints; returns the newer proof.
   */
  const expectProofsKept = async (tenant: string, eventId: string, before: InclusionProof) => {
    verifyInclusion(
      before.leafHash,
      Number(before.leafIndex),
      Number(before.checkpoint.size),
      before.proof,
      before.checkpoint.rootHash,
    );
    const after = await trail.inclusionProof(UNRESTRICTED, tenant, eventId, 0n);
    expect(Buffer.from(after.leafHash)).toEqual(Buffer.from(before.leafHash));
    verifyInclusion(
      after.leafHash,
      Number(after.leafIndex),
      Number(after.checkpoint.size),
      after.proof,
      after.checkpoint.rootHash,
    );
    const consistency = await trail.consistencyProof(UNRESTRICTED, tenant, before.checkpoint.size, 0n);
    verifyConsistency(
      Number(before.checkpoint.size),
      Number(consistency.to.size),
      consistency.proof,
      before.checkpoint.rootHash,
      consistency.to.rootHash,
    );
    return after;
  };

  it("reports worm_retention only where a retention period covers the caller's events", async () => {
    const reader = (projects: string[]): Principal => ({
      kind: "key",
      keyId: "k",
      tenantId: "caps",
      role: "read",
      projects,
    });
    const worm = async (principal: Principal) => (await eventService(store).capabilities(principal)).wormRetention;
    expect(await worm(reader([]))).toBe(false);
    await setRetention(store, UNRESTRICTED, { tenantId: "caps", projectId: "api", days: 7, setBy: "test" });
    expect(await worm(reader([]))).toBe(true);
    expect(await worm(reader(["api"]))).toBe(true);
    expect(await worm(reader(["web"]))).toBe(false);
    await setRetention(store, UNRESTRICTED, { tenantId: "caps", projectId: "", days: 30, setBy: "test" });
    expect(await worm(reader(["web"]))).toBe(true);
    // 0 days removes a period: kept forever again.
    await setRetention(store, UNRESTRICTED, { tenantId: "caps", projectId: "", days: 0, setBy: "test" });
    await setRetention(store, UNRESTRICTED, { tenantId: "caps", projectId: "api", days: 0, setBy: "test" });
    expect(await worm(reader([]))).toBe(false);
  });

  it("takes periods up to a century, whose cutoff a purge can still compare, and refuses longer ones", async () => {
    const policy = { tenantId: "century", projectId: "", setBy: "test" };
    await expect(setRetention(store, UNRESTRICTED, { ...policy, days: MAX_RETENTION_DAYS + 1 })).rejects.toThrow(
      new InvalidArgumentError([
        { field: "days", description: "must be a whole number of days up to 36500 (100 years), 0 to keep forever" },
      ]),
    );
    await setRetention(store, UNRESTRICTED, { ...policy, days: MAX_RETENTION_DAYS });
    await expect(purgeExpired(store, NOW)).resolves.toBeInstanceOf(Array);
    await setRetention(store, UNRESTRICTED, { ...policy, days: 0 });
  });

  it("purges expired content per tenant and project, keeps proofs, and verify lists the purges", async () => {
    const tenant = "ret";
    await ingest(tenant, [
      {
        eventId: "old-web",
        projectId: "web",
        timestamp: at(40),
        content: { case: "message", value: { role: "user", text: "my secret" } },
      },
      { eventId: "old-api", projectId: "api", timestamp: at(40), tags: ["user:alice"] },
      { eventId: "mid-api", projectId: "api", timestamp: at(20) },
      { eventId: "new-web", projectId: "web", timestamp: at(1) },
    ]);
    const before = await trail.inclusionProof(UNRESTRICTED, tenant, "old-web", 0n);
    await setRetention(store, UNRESTRICTED, { tenantId: tenant, projectId: "", days: 30, setBy: "test" });
    await setRetention(store, UNRESTRICTED, { tenantId: tenant, projectId: "api", days: 10, setBy: "test" });
    expect((await showRetention(store, UNRESTRICTED, tenant)).map((p) => [p.projectId, p.days])).toEqual([
      ["", 30],
      ["api", 10],
    ]);

    const done = await purgeExpired(store, NOW);
    expect(done?.map((d) => [d.projectId, d.count]).sort()).toEqual([
      ["api", 2],
      ["web", 1],
    ]);
    // Nothing more is expired: a second run purges nothing.
    expect(await purgeExpired(store, NOW)).toEqual([]);
    await trail.integrateAndSign();

    const after = await expectProofsKept(tenant, "old-web", before);
    expect(Buffer.from(leafHash(after.contentHash))).toEqual(Buffer.from(after.leafHash));

    // Queries serve the purged events as stubs that say so and why; the content is gone.
    const events = await query(tenant);
    expect(purgeMarkOf(eventOf(events, "new-web"))).toBeUndefined();
    expect(purgeMarkOf(eventOf(events, "mid-api"))?.reason).toBe(
      'retention: project "api" keeps 10 days (set by test)',
    );
    const oldWeb = eventOf(events, "old-web");
    expect(purgeMarkOf(oldWeb)?.reason).toBe('retention: tenant "ret" keeps 30 days (set by test)');
    expect(oldWeb.content.case).toBeUndefined();
    expect(oldWeb.redaction?.fields).toContain("message");
    expect(oldWeb.contentHash).toBe(Buffer.from(before.contentHash).toString("hex"));
    expect(asJson(events)).not.toContain("my secret");
    // The purged tag no longer finds the event.
    expect(await query(tenant, { tags: ["user:alice"] })).toEqual([]);
    // The records are events of the log, filed under their own session.
    const records = events.filter((event) => event.sessionId === PURGE_SESSION);
    expect(records.map((record) => [record.projectId, record.type]).sort()).toEqual([
      ["api", EventType.SYSTEM],
      ["web", EventType.SYSTEM],
    ]);

    const { code, lines } = await verify(tenant);
    expect(lines[0]).toMatch(/^OK: 6 entries/);
    expect(code).toBe(0);
    expect(lines.filter((line) => line.startsWith("purge: "))).toHaveLength(2);
    expect(lines.join("\n")).toMatch(
      /purge: position \d+, chaukas-purge-\S+: retention at .* by chaukas retention job, 2 event\(s\): retention: project "api" keeps 10 days/,
    );

    // Offline, an export of the tenant verifies against the latest checkpoint too.
    const file = join(dir.path, `${kind}-ret.jsonl`);
    const out = createWriteStream(file);
    await exportJsonl(directBackend(store), { tenantId: tenant }, out);
    out.end();
    await finished(out);
    const checkpoint = await trail.checkpoint(UNRESTRICTED, tenant, 0n);
    const offline = await verifyExport(file, checkpoint.note, trail.signer.verifierKey, tenant);
    expect(offline.findings).toEqual([]);
    expect(offline.purges.map((purge) => purge.eventIds.length).sort()).toEqual([1, 2]);
  });

  it("erases by session, agent, event ids or tag; the record names the request, not the subject", async () => {
    const tenant = "erase";
    await ingest(tenant, [
      { eventId: "s1", sessionId: "sess-a" },
      { eventId: "s2", sessionId: "sess-a" },
      { eventId: "g1", sessionId: "sess-b", agentId: "agent-x" },
      { eventId: "i1", sessionId: "sess-b" },
      { eventId: "t1", sessionId: "sess-c", tags: ["subject:bob@example.com"] },
      { eventId: "keep", sessionId: "sess-c" },
    ]);
    const erasing = (selector: object) =>
      erase(store, UNRESTRICTED, { tenantId: tenant, selector, request: "REQ-7", by: "dpo" });
    expect((await erasing({ sessionId: "sess-a" })).purges.map((d) => d.count)).toEqual([2]);
    expect((await erasing({ agentId: "agent-x" })).purges.map((d) => d.count)).toEqual([1]);
    expect((await erasing({ eventIds: ["i1", "s1"] })).purges.map((d) => d.count)).toEqual([1]);
    expect((await erasing({ tag: "subject:bob@example.com" })).purges.map((d) => d.count)).toEqual([1]);
    await expect(erasing({})).rejects.toThrow(/name a session/);
    await trail.integrateAndSign();

    const events = await query(tenant);
    const purged = events.filter((event) => purgeMarkOf(event)).map((event) => event.eventId);
    expect(purged.sort()).toEqual(["g1", "i1", "s1", "s2", "t1"]);
    expect(purgeMarkOf(eventOf(events, "t1"))?.reason).toBe("erasure request REQ-7 by tag");
    expect(asJson(events)).not.toContain("bob@example.com");

    const { code, lines } = await verify(tenant);
    expect(code).toBe(0);
    expect(lines.filter((line) => line.startsWith("purge: "))).toHaveLength(4);
  });

  it("erases by a metadata value: exactly that key's value, in batches, with proofs and verify intact", async () => {
    const tenant = "subject";
    // More than a batch of events whose payload holds the value elsewhere: examined, not taken.
    const lookalikes = Array.from({ length: 1_050 }, (_, i) => ({
      eventId: `other-${String(i).padStart(4, "0")}`,
      sessionId: "crowd",
      timestamp: at(5),
      metadata: { note: "asked about u-123", user_id: "u-1234" },
    }));
    await ingest(tenant, [
      { eventId: "m1", timestamp: at(3), metadata: { user_id: "u-123", plan: "pro" } },
      { eventId: "m2", projectId: "api", timestamp: at(2), metadata: { user_id: "u-123" } },
      { eventId: "elsewhere", timestamp: at(3), metadata: { user_id: "u-9", friend: "u-123" } },
      { eventId: "nested", timestamp: at(3), metadata: { profile: { user_id: "u-123" } } },
      { eventId: "number", timestamp: at(3), metadata: { user_id: 123 } },
      ...lookalikes,
    ]);
    await ingest("neighbour", [{ eventId: "m1", metadata: { user_id: "u-123" } }]);
    const before = await trail.inclusionProof(UNRESTRICTED, tenant, "m1", 0n);

    const reports: { examined: number; erased: number }[] = [];
    const erasure = await erase(
      store,
      UNRESTRICTED,
      { tenantId: tenant, selector: { metadata: { key: "user_id", value: "u-123" } }, request: "DSR-9", by: "dpo" },
      (progress) => reports.push(progress),
    );
    expect(erasure.purges.map((purge) => [purge.projectId, purge.count]).sort()).toEqual([
      ["api", 1],
      ["web", 1],
    ]);
    // Every payload holding the bytes "u-123" was examined, a batch at a time.
    expect(erasure.examined).toBe(1_050 + 4);
    expect(reports).toEqual([
      { examined: 1_000, erased: 0 },
      { examined: 1_054, erased: 2 },
    ]);
    await trail.integrateAndSign();

    const events = await query(tenant, { sessionId: "session-1" });
    expect(
      events
        .filter((event) => purgeMarkOf(event))
        .map((event) => event.eventId)
        .sort(),
    ).toEqual(["m1", "m2"]);
    expect(purgeMarkOf(eventOf(events, "m1"))?.reason).toBe("erasure request DSR-9 by metadata");
    expect((await query("neighbour")).some((event) => purgeMarkOf(event))).toBe(false);
    const records = await query(tenant, { sessionId: PURGE_SESSION });
    expect(records).toHaveLength(2);
    expect(asJson(records)).not.toContain("u-123");

    await expectProofsKept(tenant, "m1", before);
    const { code, lines } = await verify(tenant);
    expect(code).toBe(0);
    expect(lines.filter((line) => line.startsWith("purge: ")).join("\n")).toMatch(
      /erasure at .* by dpo, 1 event\(s\): erasure request DSR-9 by metadata/,
    );
    expect(lines.filter((line) => line.startsWith("purge: "))).toHaveLength(2);
  });

  it.runIf(kind === "postgres")(
    "on PostgreSQL, the process holding the background lease purges, and its erasures do not wait on the lease",
    async () => {
      const tenant = "leased";
      await ingest(tenant, [
        { eventId: "expired", timestamp: at(40) },
        { eventId: "subject", timestamp: at(1) },
      ]);
      // As the server's ingest queue drain takes it: on a connection of its own, for as long as the process runs.
      expect(await store.holdsBackgroundLease()).toBe(true);
      await setRetention(store, UNRESTRICTED, { tenantId: tenant, projectId: "", days: 30, setBy: "test" });
      const done = await purgeExpired(store, NOW);
      expect(done?.filter((d) => d.tenantId === tenant).map((d) => d.count)).toEqual([1]);
      const erased = await erase(store, UNRESTRICTED, {
        tenantId: tenant,
        selector: { eventIds: ["subject"] },
        request: "REQ-L",
        by: "dpo",
      });
      expect(erased.purges.map((d) => d.count)).toEqual([1]);
      await setRetention(store, UNRESTRICTED, { tenantId: tenant, projectId: "", days: 0, setBy: "test" });
    },
  );

  it("fails verify when content went without a record that lists it", async () => {
    const tenant = "sneaky";
    await ingest(tenant, [{ eventId: "a" }, { eventId: "b" }]);
    const {
      purges: [done],
    } = await erase(store, UNRESTRICTED, {
      tenantId: tenant,
      selector: { eventIds: ["a"] },
      request: "R",
      by: "x",
    });
    // Before the integrator runs, the record is queued: a note, not a finding.
    const queued = await verify(tenant);
    expect(queued.code).toBe(0);
    expect(queued.verifier.notes.join("\n")).toContain(`purged by ${done.recordId}, which is queued for the log`);
    await trail.integrateAndSign();
    expect((await verify(tenant)).code).toBe(0);

    // The one change the database allows, made behind the server's back: no record lists it.
    if (!url) return;
    const target = url;
    await withPostgres(target, (client) =>
      client.query(
        "UPDATE events SET payload = ''::bytea, purged_by = 'chaukas-purge-forged' WHERE tenant_id = $1 AND event_id = 'b'",
        [tenant],
      ),
    );
    const forged = await verify(tenant);
    expect(forged.code).toBe(1);
    expect(forged.lines.join("\n")).toContain(
      "event b was purged by chaukas-purge-forged, which is not in the log after it",
    );
    // A second purge of an event is refused by the database itself.
    await expect(
      withPostgres(target, (client) =>
        client.query("UPDATE events SET purged_by = 'again' WHERE tenant_id = $1 AND event_id = 'b'", [tenant]),
      ),
    ).rejects.toThrow(/append-only/);
  });
});
