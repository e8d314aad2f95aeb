import { type Event, EventStatus, EventType, Severity } from "../../../gen/chaukas/spec/common/v1/events_pb.ts";
import { nanosOf } from "../format.ts";

/**
 * A session's events as a waterfall: each span (a START/END pair sharing span_id) is one row, under
 * the row of its parent_span_id; every other event (handoff, retry, error, policy decision, data
 * access…) is a row of its own under the span it names. Rows are in depth-first order, children by
 * start time, so a flat virtualised list can draw the tree.
 */

export type RowKind = "session" | "agent" | "model" | "tool" | "mcp" | "event";

export interface WaterfallRow {
  key: string;
  kind: RowKind;
  depth: number;
  label: string;
  /** The START (or lone) event first, then the END. */
  events: Event[];
  startNs: bigint;
  /** undefined while a span has no END yet. */
  endNs: bigint | undefined;
  failed: boolean;
  childCount: number;
}

export interface Waterfall {
  rows: WaterfallRow[];
  startNs: bigint;
  endNs: bigint;
}

const PAIRS = new Map<EventType, [RowKind, "start" | "end"]>([
  [EventType.SESSION_START, ["session", "start"]],
  [EventType.SESSION_END, ["session", "end"]],
  [EventType.AGENT_START, ["agent", "start"]],
  [EventType.AGENT_END, ["agent", "end"]],
  [EventType.MODEL_INVOCATION_START, ["model", "start"]],
  [EventType.MODEL_INVOCATION_END, ["model", "end"]],
  [EventType.TOOL_CALL_START, ["tool", "start"]],
  [EventType.TOOL_CALL_END, ["tool", "end"]],
  [EventType.MCP_CALL_START, ["mcp", "start"]],
  [EventType.MCP_CALL_END, ["mcp", "end"]],
]);

interface Node extends WaterfallRow {
  parentKey: string;
  children: Node[];
  hasStart: boolean;
}

export function isFailure(event: Event): boolean {
  return (
    event.type === EventType.ERROR ||
    event.status === EventStatus.FAILED ||
    event.severity >= Severity.ERROR ||
    (event.content.case === "toolResponse" && event.content.value.errorMessage !== "")
  );
}

export function buildWaterfall(events: readonly Event[]): Waterfall {
  const ordered = [...events].sort((a, b) => compare(nanosOf(a.timestamp), nanosOf(b.timestamp)));
  const nodes = new Map<string, Node>();
  // Spans started and not yet ended, by kind and parent span: where an END looks for its START.
  const open = new Map<string, Set<Node>>();
  const lone: Node[] = [];
  for (const event of ordered) {
    const pair = PAIRS.get(event.type);
    const at = nanosOf(event.timestamp);
    if (!pair || !event.spanId) {
      lone.push(newNode(`event:${event.eventId}`, "event", event, at));
      continue;
    }
    const [kind, side] = pair;
    const own = nodes.get(`span:${event.spanId}`);
    const siblings = `${kind}|${event.parentSpanId}`;
    if (side === "end") {
      const started = startOf(event, kind, own, nodes.get(`span:${event.parentSpanId}`), open.get(siblings));
      if (started) {
        started.events.push(event);
        started.endNs = at;
        started.failed ||= isFailure(event);
        started.label ||= labelOf(event);
        open.get(`${kind}|${started.parentKey.slice("span:".length)}`)?.delete(started);
        // Events under the END's own span belong to the span it closes.
        nodes.set(`span:${event.spanId}`, started);
        continue;
      }
    }
    const node = newNode(`span:${event.spanId}`, kind, event, at);
    node.parentKey = event.parentSpanId ? `span:${event.parentSpanId}` : "";
    if (side === "start") {
      node.hasStart = true;
      open.set(siblings, (open.get(siblings) ?? new Set()).add(node));
    } else node.endNs = at;
    // A repeated span_id (a second START) gets a row of its own rather than rewriting the first.
    nodes.set(own ? `span:${event.spanId}#${event.eventId}` : node.key, node);
  }
  // A lone event sits under the span it belongs to (its span_id) or else under its parent span.
  for (const node of lone) {
    const [event] = node.events;
    node.parentKey = nodes.has(`span:${event.spanId}`) ? `span:${event.spanId}` : `span:${event.parentSpanId}`;
    nodes.set(node.key, node);
  }
  const roots: Node[] = [];
  for (const node of new Set(nodes.values())) {
    const parent = node.parentKey === node.key ? undefined : nodes.get(node.parentKey);
    (parent ? parent.children : roots).push(node);
  }
  const rows: WaterfallRow[] = [];
  const startNs = ordered.length ? nanosOf(ordered[0].timestamp) : 0n;
  const endNs = ordered.length ? nanosOf(ordered[ordered.length - 1].timestamp) : 0n;
  // Iterative depth-first walk: a deep chain of spans must not overflow the stack.
  const stack: [Node, number][] = byStart(roots)
    .reverse()
    .map((node) => [node, 0]);
  const seen = new Set<Node>();
  while (stack.length) {
    const [node, depth] = stack.pop() as [Node, number];
    if (seen.has(node)) continue;
    seen.add(node);
    const { parentKey: _p, children, hasStart: _h, ...row } = node;
    rows.push({ ...row, depth, childCount: children.length });
    for (const child of byStart(children).reverse()) stack.push([child, depth + 1]);
  }
  // Spans in a parent cycle are reachable from no root: list them at the top level rather than lose them.
  for (const node of new Set(nodes.values())) {
    if (!seen.has(node)) {
      const { parentKey: _p, children, hasStart: _h, ...row } = node;
      rows.push({ ...row, depth: 0, childCount: children.length });
    }
  }
  return { rows, startNs, endNs };
}

/** The rows left to draw when the rows whose keys are in `collapsed` hide their descendants. */
export function visibleRows(rows: readonly WaterfallRow[], collapsed: ReadonlySet<string>): WaterfallRow[] {
  if (collapsed.size === 0) return rows as WaterfallRow[];
  const shown: WaterfallRow[] = [];
  // Depth-first order: a collapsed row's descendants are the rows after it that are deeper.
  let hidingBelow = Number.POSITIVE_INFINITY;
  for (const row of rows) {
    if (row.depth > hidingBelow) continue;
    hidingBelow = collapsed.has(row.key) && row.childCount > 0 ? row.depth : Number.POSITIVE_INFINITY;
    shown.push(row);
  }
  return shown;
}

/** The keys of the rows above `rows[index]` in the tree, nearest first. */
export function ancestorKeys(rows: readonly WaterfallRow[], index: number): string[] {
  const keys: string[] = [];
  let depth = rows[index]?.depth ?? 0;
  for (let at = index - 1; at >= 0 && depth > 0; at--) {
    if (rows[at].depth < depth) {
      keys.push(rows[at].key);
      depth = rows[at].depth;
    }
  }
  return keys;
}

/**
 * The START an END closes: the span it shares its span_id with (the spec's pairing), else the span
 * it is under (the SDK's AGENT_END and SESSION_END), else the open START of its kind beside it
 * (the SDK's model and tool calls: START and END are siblings), by call id if both have one, else
 * the latest.
 */
function startOf(end: Event, kind: RowKind, own?: Node, parent?: Node, siblings?: Set<Node>): Node | undefined {
  const isOpen = (node?: Node): node is Node => node?.kind === kind && node.hasStart && node.endNs === undefined;
  if (isOpen(own)) return own;
  if (isOpen(parent)) return parent;
  const candidates = [...(siblings ?? [])].filter(isOpen);
  const id = callIdOf(end);
  return (id && candidates.find((node) => callIdOf(node.events[0]) === id)) || candidates.at(-1);
}

/** What ties a call's START to its END when both carry it. */
function callIdOf(event: Event): string {
  const { content } = event;
  if (content.case === "toolCall") return content.value.id;
  if (content.case === "toolResponse") return content.value.toolCallId;
  return event.invocationId;
}

function newNode(key: string, kind: RowKind, event: Event, at: bigint): Node {
  return {
    key,
    kind,
    depth: 0,
    label: labelOf(event),
    events: [event],
    startNs: at,
    endNs: kind === "event" ? at : undefined,
    failed: isFailure(event),
    childCount: 0,
    parentKey: "",
    children: [],
    hasStart: false,
  };
}

const byStart = (nodes: Node[]) => nodes.sort((a, b) => compare(a.startNs, b.startNs));
const compare = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);

/** What a row is called: the model, tool, MCP method or agent it is about, else its type. */
export function labelOf(event: Event): string {
  const { content } = event;
  switch (content.case) {
    case "llmInvocation":
      return [content.value.provider, content.value.model].filter(Boolean).join(" / ");
    case "toolCall":
      return content.value.name || content.value.functionName;
    case "mcpCall":
      return [content.value.serverName, content.value.method || content.value.operation].filter(Boolean).join(" · ");
    case "agentHandoff":
      return `${content.value.fromAgentName || content.value.fromAgentId} → ${content.value.toAgentName || content.value.toAgentId}`;
    case "error":
      return content.value.errorMessage;
    case "policy":
      return `${content.value.policyId}: ${content.value.outcome}`;
    case "dataAccess":
      return content.value.datasource;
    case "message":
      return content.value.text.slice(0, 200);
    default:
      if (event.type === EventType.AGENT_START || event.type === EventType.AGENT_END) {
        return event.agentName || event.agentId;
      }
      return "";
  }
}
