import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  type Event,
  type EventSchema,
  EventStatus,
  EventType,
  Severity,
} from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import { Random } from "../../kit/random.ts";
import { eventNs, nsToTimestamp } from "../store/fixtures.ts";
import { makeEvent } from "../support/events.ts";

/**
 * SDK-shaped sessions for the session and usage views: several agents (some known by id only),
 * model calls with tokens and cost (some without START, some without END, some counted only in
 * CostDetails), tool and MCP calls, errors of each kind, SESSION_START/END (some sessions without
 * an END, some with two at one instant). Deterministic for a seed.
 */

export const T0 = 1_764_547_200_000_000_000n; // 2025-12-01T00:00:00Z
export const MINUTE_NS = 60_000_000_000n;
export const HOUR_NS = 60n * MINUTE_NS;
/** Sessions start within these three days. */
export const SPAN_NS = 72n * HOUR_NS;

const AGENTS = [
  { agentId: "agent-planner", agentName: "Planner" },
  { agentId: "agent-researcher", agentName: "Researcher" },
  { agentId: "agent-writer", agentName: "Writer" },
  { agentId: "agent-7", agentName: "" },
];
const MODELS = ["gpt-4o-mini", "claude-sonnet-4"];
const WORDS = ["refund", "weather", "invoice", "shipping", "password"];

type EventInit = MessageInitShape<typeof EventSchema>;

export function sdkSessions(seed: number, tenantId: string, projects: string[], count: number): Event[] {
  const random = new Random(seed);
  const events: Event[] = [];
  for (let s = 0; s < count; s++) {
    const projectId = random.pick(projects);
    const sessionId = `${tenantId}-session-${String(s).padStart(2, "0")}`;
    const tags = random.chance(0.3) ? ["vip"] : ["env:prod"];
    let ns = T0 + random.bigint(SPAN_NS);
    const add = (init: EventInit) => {
      ns += BigInt(random.int(90)) * 1_000_000_000n + random.bigint(1_000_000_000n);
      const event = makeEvent({
        eventId: `${sessionId}-${String(events.length).padStart(4, "0")}`,
        tenantId,
        projectId,
        sessionId,
        tags,
        timestamp: nsToTimestamp(ns),
        status: EventStatus.IN_PROGRESS,
        severity: Severity.INFO,
        ...init,
      });
      events.push(event);
      return event;
    };
    add({ type: EventType.SESSION_START, status: EventStatus.STARTED });
    // One session has more agents than a row keeps.
    const agents =
      s === 3
        ? Array.from({ length: 25 }, (_, i) => ({
            agentId: `a${i}`,
            agentName: `Agent-${String(24 - i).padStart(2, "0")}`,
          }))
        : random.subset(AGENTS, 0.6).concat(AGENTS[0]);
    for (const agent of agents) {
      add({ type: EventType.AGENT_START, status: EventStatus.STARTED, ...agent });
      for (let call = random.int(3); call > 0; call--) modelCall(random, add, agent);
      if (random.chance(0.6)) {
        const text = `look up ${random.pick(WORDS)}`;
        add({
          type: EventType.TOOL_CALL_START,
          ...agent,
          content: { case: "toolCall", value: { name: "lookup", arguments: { q: text } } },
        });
        if (random.chance(0.8)) add({ type: EventType.TOOL_CALL_END, status: EventStatus.COMPLETED, ...agent });
      }
      if (random.chance(0.3)) {
        if (random.chance(0.7))
          add({
            type: EventType.MCP_CALL_START,
            ...agent,
            content: { case: "mcpCall", value: { serverName: "files" } },
          });
        add({ type: EventType.MCP_CALL_END, status: EventStatus.COMPLETED, ...agent });
      }
      if (random.chance(0.15)) {
        add({
          type: EventType.ERROR,
          severity: random.pick([Severity.WARN, Severity.ERROR]),
          ...agent,
          content: { case: "error", value: { errorMessage: "rate limited", errorCode: "429" } },
        });
      }
      if (random.chance(0.1)) add({ type: EventType.TOOL_CALL_END, status: EventStatus.FAILED, ...agent });
      // Spend reported on the agent's end only, in CostDetails.
      const cost = random.chance(0.3)
        ? {
            inputTokens: 100 + random.int(50),
            outputTokens: 10 + random.int(9),
            totalTokens: 0,
            inputCost: 0.001,
            outputCost: 0.002,
          }
        : undefined;
      add({ type: EventType.AGENT_END, status: EventStatus.COMPLETED, ...agent, cost });
    }
    if (random.chance(0.8)) {
      const end = add({
        type: EventType.SESSION_END,
        status: random.pick([EventStatus.COMPLETED, EventStatus.CANCELLED]),
      });
      // Now and then a second END at the same instant: the later event id decides the status.
      if (random.chance(0.3)) {
        events.push(
          makeEvent({ ...end, eventId: `${end.eventId}-again`, status: EventStatus.FAILED, severity: Severity.ERROR }),
        );
      }
    } else {
      add({ type: EventType.OUTPUT_EMITTED, status: random.pick([EventStatus.COMPLETED, EventStatus.FAILED]) });
    }
  }
  return events;
}

function modelCall(random: Random, add: (init: EventInit) => Event, agent: { agentId: string; agentName: string }) {
  const model = random.pick(MODELS);
  const prompt = 100 + random.int(900);
  const completion = 10 + random.int(300);
  const started = random.chance(0.85);
  if (started) {
    add({
      type: EventType.MODEL_INVOCATION_START,
      ...agent,
      content: { case: "llmInvocation", value: { provider: "p", model } },
    });
  }
  if (!started || random.chance(0.9)) {
    add({
      type: EventType.MODEL_INVOCATION_END,
      status: random.chance(0.1) ? EventStatus.FAILED : EventStatus.COMPLETED,
      ...agent,
      content: {
        case: "llmInvocation",
        value: {
          provider: "p",
          model,
          promptTokens: prompt,
          completionTokens: completion,
          // Now and then only the parts: the total is their sum.
          totalTokens: random.chance(0.2) ? 0 : prompt + completion,
        },
      },
      cost: { totalCost: prompt * 1e-6 + completion * 3e-6, inputTokens: prompt, outputTokens: completion },
    });
  }
}

/** The definitions of sessions.proto, spelled out over the events sent. */

export const isError = (e: Event) =>
  e.type === EventType.ERROR || e.status === EventStatus.FAILED || e.severity === Severity.ERROR;

const llm = (e: Event) => (e.content.case === "llmInvocation" ? e.content.value : undefined);

export function tokensOf(e: Event): { input: number; output: number; total: number } {
  const m = llm(e);
  const c = e.cost;
  return {
    input: m?.promptTokens || c?.inputTokens || 0,
    output: m?.completionTokens || c?.outputTokens || 0,
    total:
      m?.totalTokens ||
      (m ? m.promptTokens + m.completionTokens : 0) ||
      c?.totalTokens ||
      (c ? c.inputTokens + c.outputTokens : 0),
  };
}

export const costOf = (e: Event) => e.cost?.totalCost || (e.cost ? e.cost.inputCost + e.cost.outputCost : 0);
export const modelOf = (e: Event) => llm(e)?.model ?? "";
export const agentOf = (e: Event) => e.agentName || e.agentId;

/** (timestamp, event id): the order "latest" means. */
export const later = (a: Event, b: Event) => {
  const d = eventNs(a) - eventNs(b);
  return d !== 0n ? d > 0n : a.eventId > b.eventId;
};

const count = (events: Event[], type: EventType) => events.filter((e) => e.type === type).length;
const calls = (events: Event[], start: EventType, end: EventType) => Math.max(count(events, start), count(events, end));

export interface ExpectedSession {
  projectId: string;
  sessionId: string;
  startNs: bigint;
  endNs: bigint;
  events: Event[];
  summary: {
    tenantId: string;
    projectId: string;
    sessionId: string;
    eventCount: bigint;
    agents: string[];
    modelCalls: bigint;
    toolCalls: bigint;
    totalTokens: bigint;
    errors: bigint;
    maxSeverity: Severity;
    status: EventStatus;
  };
  cost: number;
}

/** Every (project, session) of the events, newest start first (then project, session, descending). */
export function expectedSessions(events: Event[]): ExpectedSession[] {
  const groups = new Map<string, Event[]>();
  for (const e of events) {
    const key = `${e.tenantId}/${e.projectId}/${e.sessionId}`;
    groups.set(key, [...(groups.get(key) ?? []), e]);
  }
  const sessions = [...groups.values()].map((group): ExpectedSession => {
    const times = group.map(eventNs).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const latestOf = (list: Event[]) =>
      list.reduce<Event | undefined>((a, b) => (a && !later(b, a) ? a : b), undefined);
    const lastEnd = latestOf(group.filter((e) => e.type === EventType.SESSION_END));
    const agents = [...new Set(group.map(agentOf).filter((a) => a !== ""))].sort().slice(0, 20);
    const { tenantId, projectId, sessionId } = group[0];
    return {
      projectId,
      sessionId,
      startNs: times[0],
      endNs: times[times.length - 1],
      events: group,
      summary: {
        tenantId,
        projectId,
        sessionId,
        eventCount: BigInt(group.length),
        agents,
        modelCalls: BigInt(calls(group, EventType.MODEL_INVOCATION_START, EventType.MODEL_INVOCATION_END)),
        toolCalls: BigInt(
          calls(group, EventType.TOOL_CALL_START, EventType.TOOL_CALL_END) +
            calls(group, EventType.MCP_CALL_START, EventType.MCP_CALL_END),
        ),
        totalTokens: BigInt(group.reduce((sum, e) => sum + tokensOf(e).total, 0)),
        errors: BigInt(group.filter(isError).length),
        maxSeverity: Math.max(...group.map((e) => e.severity)) as Severity,
        status: (lastEnd ?? latestOf(group))?.status as EventStatus,
      },
      cost: group.reduce((sum, e) => sum + costOf(e), 0),
    };
  });
  const desc = (a: string, b: string) => (a < b ? 1 : a > b ? -1 : 0);
  return sessions.sort(
    (a, b) =>
      (a.startNs < b.startNs ? 1 : a.startNs > b.startNs ? -1 : 0) ||
      desc(a.projectId, b.projectId) ||
      desc(a.sessionId, b.sessionId),
  );
}

export interface ExpectedUsage {
  overTime: {
    startNs: bigint;
    events: bigint;
    errors: bigint;
    totalTokens: bigint;
    cost: number;
    sessionsStarted: bigint;
  }[];
  eventsByType: Record<string, bigint>;
  byModel: Map<string, KeyFigures>;
  byAgent: Map<string, KeyFigures>;
  totalEvents: bigint;
  totalSessions: bigint;
  errors: bigint;
}

export interface KeyFigures {
  calls: bigint;
  inputTokens: bigint;
  outputTokens: bigint;
  totalTokens: bigint;
  cost: number;
  errors: bigint;
}

/** GetUsage of the events of one scope over [startNs, endNs) (already whole buckets). */
export function expectedUsage(
  events: Event[],
  typeName: (type: EventType) => string,
  range: { startNs: bigint; endNs: bigint; bucketNs: bigint },
): ExpectedUsage {
  const inRange = events.filter((e) => eventNs(e) >= range.startNs && eventNs(e) < range.endNs);
  const starts = expectedSessions(events)
    .map((s) => s.startNs)
    .filter((ns) => ns >= range.startNs && ns < range.endNs);
  const buckets = Number((range.endNs - range.startNs) / range.bucketNs);
  const overTime = Array.from({ length: buckets }, (_, i) => {
    const from = range.startNs + BigInt(i) * range.bucketNs;
    const within = (ns: bigint) => ns >= from && ns < from + range.bucketNs;
    const mine = inRange.filter((e) => within(eventNs(e)));
    return {
      startNs: from,
      events: BigInt(mine.length),
      errors: BigInt(mine.filter(isError).length),
      totalTokens: BigInt(mine.reduce((sum, e) => sum + tokensOf(e).total, 0)),
      cost: mine.reduce((sum, e) => sum + costOf(e), 0),
      sessionsStarted: BigInt(starts.filter(within).length),
    };
  });
  const eventsByType: Record<string, bigint> = {};
  for (const e of inRange) eventsByType[typeName(e.type)] = (eventsByType[typeName(e.type)] ?? 0n) + 1n;
  const byKey = (key: (e: Event) => string) => {
    const groups = new Map<string, Event[]>();
    for (const e of inRange.filter((x) => key(x) !== "")) groups.set(key(e), [...(groups.get(key(e)) ?? []), e]);
    return new Map(
      [...groups].map(([k, group]) => [
        k,
        {
          calls: BigInt(calls(group, EventType.MODEL_INVOCATION_START, EventType.MODEL_INVOCATION_END)),
          inputTokens: BigInt(group.reduce((sum, e) => sum + tokensOf(e).input, 0)),
          outputTokens: BigInt(group.reduce((sum, e) => sum + tokensOf(e).output, 0)),
          totalTokens: BigInt(group.reduce((sum, e) => sum + tokensOf(e).total, 0)),
          cost: group.reduce((sum, e) => sum + costOf(e), 0),
          errors: BigInt(group.filter(isError).length),
        },
      ]),
    );
  };
  return {
    overTime,
    eventsByType,
    byModel: byKey(modelOf),
    byAgent: byKey(agentOf),
    totalEvents: BigInt(inRange.length),
    totalSessions: BigInt(starts.length),
    errors: BigInt(inRange.filter(isError).length),
  };
}
