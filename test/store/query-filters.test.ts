import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Event, EventStatus, EventType, Severity } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import type { QueryFilter } from "../../gen/chaukas/spec/common/v1/query_pb.ts";
import { Random } from "../../kit/random.ts";
import { UNRESTRICTED } from "../../src/core/access.ts";
import type { EventService } from "../../src/core/event-service.ts";
import { openTestStore, storeKinds } from "../support/databases.ts";
import { makeEvent } from "../support/events.ts";
import { byTime, eventNs, expectInvalid, ids, nsToTimestamp, queryAll, request, serviceOver } from "./fixtures.ts";

/** Each QueryFilter field, alone and combined, against the same condition evaluated in JS. */

const T0 = 1_764_072_000_000_000_000n;
const TYPES = [EventType.AGENT_START, EventType.AGENT_END, EventType.TOOL_CALL_START, EventType.ERROR];
const STATUSES = [
  EventStatus.STARTED,
  EventStatus.IN_PROGRESS,
  EventStatus.COMPLETED,
  EventStatus.FAILED,
  EventStatus.CANCELLED,
];
const SEVERITIES = [Severity.DEBUG, Severity.INFO, Severity.WARN, Severity.ERROR];
const TAGS = ["prod", "eu", "us", "beta"];

function generate(random: Random, tenantId: string): Event[] {
  return Array.from({ length: 400 }, () =>
    makeEvent({
      eventId: random.id(),
      tenantId,
      projectId: random.pick(["web", "api", "batch"]),
      sessionId: `s${random.int(6)}`,
      agentId: random.pick(["", "planner", "researcher"]),
      spanId: random.chance(0.5) ? `span-${random.int(12)}` : "",
      traceId: random.chance(0.5) ? `trace-${random.int(4)}` : "",
      type: random.pick(TYPES),
      status: random.pick(STATUSES),
      severity: random.pick(SEVERITIES),
      tags: random.subset(TAGS, 0.4),
      // Few distinct instants, so equal timestamps are common.
      timestamp: nsToTimestamp(T0 + BigInt(random.int(150)) * 1_000n),
    }),
  );
}

type FilterInit = Partial<Omit<QueryFilter, "$typeName" | "time">> & { start?: bigint; end?: bigint };

interface Case {
  name: string;
  filter: FilterInit;
  matches: (e: Event) => boolean;
}

const anyOf =
  <T>(values: T[]) =>
  (value: T) =>
    values.includes(value);
const inRange = (start: bigint, end: bigint) => (e: Event) => eventNs(e) >= start && eventNs(e) < end;

const CASES: Case[] = [
  { name: "project_id", filter: { projectId: "web" }, matches: (e) => e.projectId === "web" },
  { name: "session_id", filter: { sessionId: "s3" }, matches: (e) => e.sessionId === "s3" },
  { name: "agent_id", filter: { agentId: "planner" }, matches: (e) => e.agentId === "planner" },
  { name: "span_id", filter: { spanId: "span-5" }, matches: (e) => e.spanId === "span-5" },
  { name: "trace_id", filter: { traceId: "trace-2" }, matches: (e) => e.traceId === "trace-2" },
  { name: "one type", filter: { types: [EventType.ERROR] }, matches: (e) => e.type === EventType.ERROR },
  {
    name: "any of two types",
    filter: { types: [EventType.AGENT_END, EventType.TOOL_CALL_START] },
    matches: (e) => anyOf<number>([EventType.AGENT_END, EventType.TOOL_CALL_START])(e.type),
  },
  { name: "one status", filter: { statuses: [EventStatus.FAILED] }, matches: (e) => e.status === EventStatus.FAILED },
  {
    name: "any of two statuses",
    filter: { statuses: [EventStatus.COMPLETED, EventStatus.CANCELLED] },
    matches: (e) => anyOf<number>([EventStatus.COMPLETED, EventStatus.CANCELLED])(e.status),
  },
  { name: "one severity", filter: { severities: [Severity.DEBUG] }, matches: (e) => e.severity === Severity.DEBUG },
  {
    name: "any of two severities",
    filter: { severities: [Severity.WARN, Severity.ERROR] },
    matches: (e) => anyOf<number>([Severity.WARN, Severity.ERROR])(e.severity),
  },
  { name: "one tag", filter: { tags: ["prod"] }, matches: (e) => e.tags.includes("prod") },
  {
    name: "all of two tags",
    filter: { tags: ["prod", "eu"] },
    matches: (e) => e.tags.includes("prod") && e.tags.includes("eu"),
  },
  {
    name: "a time range",
    filter: { start: T0 + 40_000n, end: T0 + 90_000n },
    matches: inRange(T0 + 40_000n, T0 + 90_000n),
  },
  {
    name: "project, types, severities, tags and time together",
    filter: {
      projectId: "api",
      types: [EventType.AGENT_START, EventType.ERROR],
      severities: [Severity.INFO, Severity.WARN, Severity.ERROR],
      tags: ["us"],
      start: T0 + 10_000n,
      end: T0 + 140_000n,
    },
    matches: (e) =>
      e.projectId === "api" &&
      anyOf<number>([EventType.AGENT_START, EventType.ERROR])(e.type) &&
      e.severity !== Severity.DEBUG &&
      e.tags.includes("us") &&
      inRange(T0 + 10_000n, T0 + 140_000n)(e),
  },
  {
    name: "session, agent, status and trace together",
    filter: { sessionId: "s1", agentId: "researcher", statuses: [EventStatus.STARTED, EventStatus.FAILED] },
    matches: (e) =>
      e.sessionId === "s1" &&
      e.agentId === "researcher" &&
      anyOf<number>([EventStatus.STARTED, EventStatus.FAILED])(e.status),
  },
];

describe.each(await storeKinds())("query filters on the %s store", (kind) => {
  let service: EventService;
  let close: () => Promise<void>;
  let events: Event[];

  beforeAll(async () => {
    const opened = await openTestStore(kind);
    close = opened.close;
    service = serviceOver(opened.store);
    events = generate(new Random(1), "acme");
    // The same events in another tenant: none of them may leak into acme's answers.
    const twins = events.map((e) => ({ ...e, tenantId: "acme-twin" }));
    for (const batch of [events, twins]) {
      expect(await service.ingestBatch(UNRESTRICTED, batch)).toEqual({ acceptedCount: batch.length, rejected: [] });
    }
  });
  afterAll(async () => {
    await close();
  });

  async function expectMatches(filter: FilterInit, matches: (e: Event) => boolean): Promise<Event[]> {
    const { start, end, ...fields } = filter;
    const time = start === undefined && end === undefined ? undefined : {};
    if (time && start !== undefined) Object.assign(time, { start: nsToTimestamp(start) });
    if (time && end !== undefined) Object.assign(time, { end: nsToTimestamp(end) });
    const { events: found } = await queryAll(service, {
      filter: { tenantId: "acme", ...fields, time },
      pageSize: 1000,
    });
    const expected = events.filter(matches).sort(byTime());
    expect(ids(found)).toEqual(ids(expected));
    expect(found.every((e) => e.tenantId === "acme")).toBe(true);
    return expected;
  }

  it("returns every event of the tenant, and only those, when only tenant_id is set", async () => {
    const all = await expectMatches({ projectId: "", sessionId: "", types: [], tags: [], textQuery: "" }, () => true);
    expect(all).toHaveLength(400);
  });

  it.each(CASES)("filters by $name", async ({ filter, matches }) => {
    const expected = await expectMatches(filter, matches);
    // The generated data must make each case meaningful: some events match, some do not.
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(events.length);
  });

  it("matches nothing for a value no event has", async () => {
    expect(await expectMatches({ projectId: "nope" }, () => false)).toEqual([]);
    expect(await expectMatches({ tags: ["prod", "missing"] }, () => false)).toEqual([]);
  });

  it("requires tenant_id", async () => {
    await expectInvalid(service.queryEvents(UNRESTRICTED, undefined), "query.filter.tenant_id");
    await expectInvalid(service.queryEvents(UNRESTRICTED, request({})), "query.filter.tenant_id");
    await expectInvalid(
      service.queryEvents(UNRESTRICTED, request({ filter: { projectId: "web" } })),
      "query.filter.tenant_id",
    );
  });
});
