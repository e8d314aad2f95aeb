import { describe, expect, it } from "vitest";
import { EventType } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import { DEFAULT_CORPUS, type Session, sessions } from "../../kit/corpus.ts";
import { ancestorKeys, buildWaterfall, visibleRows } from "../../ui/src/waterfall/tree.ts";
import { makeEvent } from "../support/events.ts";

/** The session waterfall the page draws (ui/src/waterfall/tree.ts), from span ids and START/END pairs. */

const ENDS = new Set<EventType>([
  EventType.SESSION_END,
  EventType.AGENT_END,
  EventType.MODEL_INVOCATION_END,
  EventType.TOOL_CALL_END,
  EventType.MCP_CALL_END,
]);

function corpusSessions(count: number): Session[] {
  const corpus = sessions({ ...DEFAULT_CORPUS, expectedEvents: 10_000 });
  return Array.from({ length: count }, () => corpus.next().value as Session);
}

describe("the waterfall of a session", () => {
  it("pairs the Python SDK's END events (a span of their own under the START's) with their START", () => {
    for (const session of corpusSessions(20)) {
      const { rows } = buildWaterfall(session.events);
      const ends = session.events.filter((event) => ENDS.has(event.type)).length;
      // One row per START/END pair and per other event; every event in exactly one row.
      expect(rows.length).toBe(session.events.length - ends);
      expect(rows.flatMap((row) => row.events.map((event) => event.eventId)).sort()).toEqual(
        session.events.map((event) => event.eventId).sort(),
      );
      expect(rows[0]).toMatchObject({ kind: "session", depth: 0 });
      expect(rows.filter((row) => row.depth === 0)).toHaveLength(1);
      for (const row of rows.filter((row) => row.kind !== "event")) {
        expect(row.endNs, `${row.kind} ${row.label}`).toBeDefined();
        expect(row.endNs as bigint).toBeGreaterThanOrEqual(row.startNs);
      }
      // Depth first: each row's parent is the nearest row above it one level up.
      for (const [i, row] of rows.entries()) if (i > 0) expect(row.depth).toBeLessThanOrEqual(rows[i - 1].depth + 1);
      const models = rows.filter((row) => row.kind === "model");
      expect(models.length).toBeGreaterThan(0);
      for (const model of models) expect(model.depth).toBe(2);
    }
  });

  it("pairs a START and END that share a span id, nests by parent_span_id and marks failures", () => {
    const at = (seconds: number) => ({ seconds: 1_764_072_000n + BigInt(seconds), nanos: 0 });
    const events = [
      makeEvent({ type: EventType.TOOL_CALL_END, spanId: "tool", parentSpanId: "agent", timestamp: at(5), status: 4 }),
      makeEvent({ type: EventType.AGENT_START, spanId: "agent", timestamp: at(0), agentName: "Planner" }),
      makeEvent({ type: EventType.TOOL_CALL_START, spanId: "tool", parentSpanId: "agent", timestamp: at(2) }),
      makeEvent({ type: EventType.ERROR, spanId: "err", parentSpanId: "tool", timestamp: at(4) }),
      makeEvent({ type: EventType.AGENT_START, spanId: "open", parentSpanId: "agent", timestamp: at(6) }),
    ];
    const { rows, startNs, endNs } = buildWaterfall(events);
    expect(rows.map((row) => [row.kind, row.depth, row.events.length, row.failed])).toEqual([
      ["agent", 0, 1, false],
      ["tool", 1, 2, true],
      ["event", 2, 1, true],
      ["agent", 1, 1, false],
    ]);
    expect(rows[0].label).toBe("Planner");
    expect(rows[0].endNs).toBeUndefined();
    expect((rows[1].endNs ?? 0n) - rows[1].startNs).toBe(3_000_000_000n);
    expect(endNs - startNs).toBe(6_000_000_000n);
  });

  it("keeps spans whose parents form a cycle, and does not recurse on a deep chain", () => {
    const cycle = [
      makeEvent({ type: EventType.AGENT_START, spanId: "a", parentSpanId: "b" }),
      makeEvent({ type: EventType.AGENT_START, spanId: "b", parentSpanId: "a" }),
    ];
    expect(buildWaterfall(cycle).rows).toHaveLength(2);
    const chain = Array.from({ length: 20_000 }, (_, i) =>
      makeEvent({ type: EventType.AGENT_START, spanId: `s${i}`, parentSpanId: i ? `s${i - 1}` : "" }),
    );
    const { rows } = buildWaterfall(chain);
    expect(rows).toHaveLength(20_000);
    expect(rows[19_999].depth).toBe(19_999);
  });

  it("folds a row's descendants away, and names the rows above a row", () => {
    const [session] = corpusSessions(1);
    const { rows } = buildWaterfall(session.events);
    expect(visibleRows(rows, new Set())).toEqual(rows);
    const agents = rows.filter((row) => row.kind === "agent" && row.childCount > 0);
    expect(agents.length).toBeGreaterThan(1);
    const [folded] = agents;
    const shown = visibleRows(rows, new Set([folded.key]));
    const at = rows.indexOf(folded);
    let end = at + 1;
    while (end < rows.length && rows[end].depth > folded.depth) end++;
    // Exactly the rows under it go; the row itself and everything after its subtree stay.
    expect(shown).toEqual([...rows.slice(0, at + 1), ...rows.slice(end)]);
    // Folding the session row leaves it alone; a folded row with no children hides nothing.
    expect(visibleRows(rows, new Set([rows[0].key]))).toEqual([rows[0]]);
    const leaf = rows.find((row) => row.childCount === 0);
    expect(visibleRows(rows, new Set([leaf?.key ?? ""]))).toEqual(rows);
    // The rows above a model call: its agent, then the session.
    const model = rows.findIndex((row) => row.kind === "model");
    const above = ancestorKeys(rows, model);
    expect(above.map((key) => rows.find((row) => row.key === key)?.kind)).toEqual(["agent", "session"]);
    expect(ancestorKeys(rows, 0)).toEqual([]);
  });
});
