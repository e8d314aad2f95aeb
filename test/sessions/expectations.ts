import { expect } from "vitest";
import type { GetUsageResponse, SessionSummary } from "../../gen/chaukas/backend/v1/sessions_pb.ts";
import { timestampToNs } from "../../src/lib/timestamps.ts";
import type { ExpectedSession, ExpectedUsage } from "./sdk-sessions.ts";

/** Every field of the answers against the figures computed from the events sent (sdk-sessions.ts). */

export function expectSessions(got: SessionSummary[], want: ExpectedSession[]): void {
  expect(
    got.map((s) => ({
      tenantId: s.tenantId,
      projectId: s.projectId,
      sessionId: s.sessionId,
      eventCount: s.eventCount,
      agents: s.agents,
      modelCalls: s.modelCalls,
      toolCalls: s.toolCalls,
      totalTokens: s.totalTokens,
      errors: s.errors,
      maxSeverity: s.maxSeverity,
      status: s.status,
      startNs: s.startTime && timestampToNs(s.startTime),
      endNs: s.endTime && timestampToNs(s.endTime),
    })),
  ).toEqual(want.map((w) => ({ ...w.summary, startNs: w.startNs, endNs: w.endNs })));
  for (const [i, s] of got.entries()) expectClose(s.totalCost, want[i].cost);
}

export function expectUsage(got: GetUsageResponse, want: ExpectedUsage): void {
  expect(
    got.overTime.map((b) => ({
      startNs: b.startTime && timestampToNs(b.startTime),
      events: b.events,
      errors: b.errors,
      totalTokens: b.totalTokens,
      sessionsStarted: b.sessionsStarted,
    })),
  ).toEqual(want.overTime.map(({ cost: _, ...b }) => b));
  for (const [i, b] of got.overTime.entries()) expectClose(b.totalCost, want.overTime[i].cost);
  expect(got.eventsByType).toEqual(want.eventsByType);
  expect([got.totalEvents, got.totalSessions, got.errors]).toEqual([want.totalEvents, want.totalSessions, want.errors]);
  for (const [gotKeys, wantKeys] of [
    [got.byModel, want.byModel],
    [got.byAgent, want.byAgent],
  ] as const) {
    expect(gotKeys.map((k) => k.key).sort()).toEqual([...wantKeys.keys()].sort());
    for (const k of gotKeys) {
      // biome-ignore lint/style/noNonNullAssertion: the keys were just compared
      const { cost, ...figures } = wantKeys.get(k.key)!;
      expect({
        calls: k.calls,
        inputTokens: k.inputTokens,
        outputTokens: k.outputTokens,
        totalTokens: k.totalTokens,
        errors: k.errors,
      }).toEqual(figures);
      expectClose(k.totalCost, cost);
    }
    // Largest spend in tokens first.
    const tokens = gotKeys.map((k) => k.totalTokens);
    expect(tokens).toEqual([...tokens].sort((a, b) => (a < b ? 1 : a > b ? -1 : 0)));
  }
}

/** Sums of doubles added in another order agree to rounding. */
function expectClose(got: number, want: number): void {
  expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(want)));
}
