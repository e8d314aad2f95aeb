import { create } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Event, EventType, EventTypeSchema } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import { TimeRangeSchema } from "../../gen/chaukas/spec/common/v1/query_pb.ts";
import { Random } from "../../kit/random.ts";
import { UNRESTRICTED } from "../../src/core/access.ts";
import { integrateQueued } from "../../src/core/audit/audit-trail.ts";
import type { EventService, Stats } from "../../src/core/event-service.ts";
import type { Database } from "../../src/store/database.ts";
import { ALL_TENANTS } from "../../src/store/tenant-scope.ts";
import { openTestStore, storeKinds } from "../support/databases.ts";
import { makeEvent } from "../support/events.ts";
import { eventNs, expectInvalid, nsToTimestamp, serviceOver } from "./fixtures.ts";

/** eventStats (GetEventStats) against the same numbers computed by brute force in JS. */

const T0 = 1_764_072_000_000_000_000n;
const HOUR_NS = 3_600_000_000_000n;
const DAY_NS = 24n * HOUR_NS;
/** Events fall over three days, so ranges cover whole days, whole hours and parts of hours. */
const SPAN_NS = 3n * DAY_NS;
const TEN_MINUTES_NS = 600_000_000_000n;
const OTHER_TYPES = [EventType.AGENT_START, EventType.TOOL_CALL_START, EventType.ERROR, EventType.MODEL_INVOCATION_END];

/**
 * Sessions whose START and END events (zero, one or several of each) fall at random times: half
 * over all three days, half within ten minutes (mostly inside one hour, as real sessions are).
 */
function generate(random: Random, sessionsPerProject = 8): Event[] {
  const events: Event[] = [];
  for (const tenantId of ["t0", "t1", "t2"]) {
    for (const projectId of ["p0", "p1", "p2"]) {
      for (let s = 0; s < sessionsPerProject; s++) {
        // Few session ids per tenant: some are shared between projects.
        const sessionId = `s${random.int(16)}`;
        const brief = random.int(2) === 0;
        const base = T0 + random.bigint(SPAN_NS);
        const add = (type: EventType) =>
          events.push(
            makeEvent({
              eventId: random.id(),
              tenantId,
              projectId,
              sessionId,
              type,
              timestamp: nsToTimestamp(brief ? base + random.bigint(TEN_MINUTES_NS) : T0 + random.bigint(SPAN_NS)),
            }),
          );
        const starts = random.pick([0, 1, 1, 1, 2]);
        const ends = random.pick([0, 1, 1, 2]);
        for (let i = 0; i < starts; i++) add(EventType.SESSION_START);
        for (let i = 0; i < ends; i++) add(EventType.SESSION_END);
        for (let i = random.int(6); i > 0; i--) add(random.pick(OTHER_TYPES));
      }
    }
  }
  return events;
}

interface Scope {
  tenantId: string;
  projectId: string;
  start?: bigint;
  end?: bigint;
}

/** The definition, spelled out: see EventStats in src/store/event-store.ts. */
function bruteForce(events: Event[], scope: Scope): Stats {
  const inScope = events.filter(
    (e) =>
      e.tenantId === scope.tenantId &&
      (scope.projectId === "" || e.projectId === scope.projectId) &&
      (scope.start === undefined || eventNs(e) >= scope.start) &&
      (scope.end === undefined || eventNs(e) < scope.end),
  );
  const eventsByType: Record<string, bigint> = {};
  const sessions = new Map<string, { start?: bigint; end?: bigint }>();
  for (const e of inScope) {
    const name = EventTypeSchema.value[e.type].name;
    eventsByType[name] = (eventsByType[name] ?? 0n) + 1n;
    const s = sessions.get(e.sessionId) ?? {};
    const ns = eventNs(e);
    // The first SESSION_START and the last SESSION_END of each session.
    if (e.type === EventType.SESSION_START && (s.start === undefined || ns < s.start)) s.start = ns;
    if (e.type === EventType.SESSION_END && (s.end === undefined || ns > s.end)) s.end = ns;
    sessions.set(e.sessionId, s);
  }
  const durations = [...sessions.values()]
    .filter((s) => s.start !== undefined && s.end !== undefined && s.end >= s.start)
    .map((s) => (s.end as bigint) - (s.start as bigint));
  const totalNs = durations.reduce((a, b) => a + b, 0n);
  return {
    totalEvents: BigInt(inScope.length),
    totalSessions: BigInt(sessions.size),
    eventsByType,
    avgSessionDurationMs: durations.length === 0 ? 0 : Number(totalNs) / durations.length / 1e6,
  };
}

function expectStats(actual: Stats, expected: Stats): void {
  const { avgSessionDurationMs, ...counts } = actual;
  const { avgSessionDurationMs: expectedAvg, ...expectedCounts } = expected;
  expect(counts).toEqual(expectedCounts);
  expect(avgSessionDurationMs).toBeCloseTo(expectedAvg, 6);
}

const ms = (n: number) => T0 + BigInt(n * 1_000_000);

describe.each(await storeKinds())("event stats on the %s store", (kind) => {
  let service: EventService;
  let store: Database;
  let close: () => Promise<void>;
  let events: Event[];

  beforeAll(async () => {
    const opened = await openTestStore(kind);
    close = opened.close;
    store = opened.store;
    service = serviceOver(store);
    events = generate(new Random(5));
    await service.ingestBatch(UNRESTRICTED, events);
  });
  afterAll(async () => {
    await close();
  });

  async function stats(scope: Scope): Promise<Stats> {
    const timeRange = create(TimeRangeSchema, {
      start: scope.start === undefined ? undefined : nsToTimestamp(scope.start),
      end: scope.end === undefined ? undefined : nsToTimestamp(scope.end),
    });
    return service.eventStats(UNRESTRICTED, { tenantId: scope.tenantId, projectId: scope.projectId, timeRange });
  }

  /** A random instant, on a day or hour boundary now and then: the rollups' edges. */
  function instant(random: Random): bigint {
    const at = T0 - HOUR_NS + random.bigint(SPAN_NS + 2n * HOUR_NS);
    const roll = random.int(4);
    if (roll === 0) return at - (at % DAY_NS);
    if (roll === 1) return at - (at % HOUR_NS);
    return at;
  }

  /** Compares every tenant, project and some time ranges with brute force; returns how many had a duration. */
  async function expectBruteForce(random: Random): Promise<number> {
    let withDurations = 0;
    for (const tenantId of ["t0", "t1", "t2", "nobody"]) {
      for (const projectId of ["", "p0", "p1", "p2"]) {
        const a = instant(random);
        const b = instant(random);
        const [lo, hi] = a < b ? [a, b] : [b, a];
        const minutes = instant(random);
        for (const range of [
          {},
          { start: lo, end: hi },
          { start: lo },
          { end: hi },
          { start: minutes, end: minutes + BigInt(random.int(90)) * 60_000_000_000n },
        ]) {
          const scope = { tenantId, projectId, ...range };
          const expected = bruteForce(events, scope);
          expectStats(await stats(scope), expected);
          if (expected.avgSessionDurationMs > 0) withDurations++;
        }
      }
    }
    return withDurations;
  }

  it("matches brute force for every tenant, project and time range, queued or rolled up", async () => {
    const random = new Random(6);
    // Every event still queued: counted from the queue and the events.
    expect(await store.audit.pendingEvents(ALL_TENANTS, "t0")).toBeGreaterThan(0);
    // The generated data must exercise the average, not only the counts.
    expect(await expectBruteForce(random)).toBeGreaterThan(20);
    // Part rolled up, part queued.
    expect(await store.audit.integrate(Math.floor(events.length / 2))).toBe(Math.floor(events.length / 2));
    await expectBruteForce(random);
    // All rolled up.
    await integrateQueued(store.audit);
    expect(await store.audit.pendingEvents(ALL_TENANTS, "t0")).toBe(0);
    await expectBruteForce(random);
    // More events in the same sessions, some earlier than what is rolled up, and repeats: queued
    // on top of the rollups, then rolled up into the same rows.
    const more = generate(new Random(7), 4);
    await service.ingestBatch(UNRESTRICTED, [...more, ...events.slice(0, 20)]);
    events.push(...more);
    await expectBruteForce(random);
    await integrateQueued(store.audit);
    await expectBruteForce(random);
  });

  it("averages last SESSION_END minus first SESSION_START, in ms, over sessions with both in scope", async () => {
    const at = (sessionId: string, type: EventType, ns: bigint) =>
      makeEvent({ tenantId: "defn", sessionId, type, timestamp: nsToTimestamp(ns) });
    await service.ingestBatch(UNRESTRICTED, [
      at("a", EventType.SESSION_START, ms(1000)),
      at("a", EventType.SESSION_START, ms(2000)),
      at("a", EventType.SESSION_END, ms(5000)),
      at("a", EventType.SESSION_END, ms(7000)),
      at("b", EventType.SESSION_START, ms(0)),
      at("b", EventType.SESSION_END, ms(1.5)),
      at("c", EventType.SESSION_START, ms(10_000)), // ends before it starts: left out
      at("c", EventType.SESSION_END, ms(9000)),
      at("d", EventType.SESSION_START, ms(3000)), // never ends: left out
      at("e", EventType.AGENT_START, ms(3000)), // neither: counted as a session only
      at("f", EventType.SESSION_START, ms(20_000)), // ends when it starts: 0 ms
      at("f", EventType.SESSION_END, ms(20_000)),
    ]);

    const all = await stats({ tenantId: "defn", projectId: "" });
    expect(all.totalEvents).toBe(12n);
    expect(all.totalSessions).toBe(6n);
    expect(all.eventsByType).toEqual({
      EVENT_TYPE_SESSION_START: 6n,
      EVENT_TYPE_SESSION_END: 5n,
      EVENT_TYPE_AGENT_START: 1n,
    });
    expect(all.avgSessionDurationMs).toBeCloseTo((6000 + 1.5 + 0) / 3, 9);

    // Only what is in range counts: a's last END is now 5000, b has only its END, c and f are out.
    const cut = await stats({ tenantId: "defn", projectId: "", start: ms(0.5), end: ms(6000) });
    expect(cut.totalSessions).toBe(4n);
    expect(cut.avgSessionDurationMs).toBeCloseTo(4000, 9);
  });

  it("answers zeros for a scope with no events", async () => {
    expect(await stats({ tenantId: "nobody", projectId: "" })).toEqual({
      totalEvents: 0n,
      totalSessions: 0n,
      eventsByType: {},
      avgSessionDurationMs: 0,
    });
  });

  it("requires tenant_id and a valid time range", async () => {
    await expectInvalid(service.eventStats(UNRESTRICTED, { tenantId: "", projectId: "" }), "tenant_id");
    await expectInvalid(stats({ tenantId: "t0", projectId: "", start: ms(2), end: ms(1) }), "time_range.end");
  });
});
