import { duration } from "../format.ts";
import { typeName, words } from "../names.ts";
import type { Waterfall, WaterfallRow } from "../waterfall/tree.ts";

const KIND_LABELS = { session: "session", agent: "agent", model: "model", tool: "tool", mcp: "mcp", event: "" };

/** The shared time axis over the waterfall's bars: 0 to the session's length, in quarters (0 alone when it has none). */
export function WaterfallAxis({ spanMs }: { spanMs: number }) {
  return (
    <div class="vhead waterfall-grid" role="row">
      <span role="columnheader">Span</span>
      <span class="axis-ticks" role="columnheader" aria-label="Time">
        {(spanMs > 0 ? [0, 0.25, 0.5, 0.75, 1] : [0]).map((at) => (
          <span key={at} style={{ left: `${at * 100}%` }}>
            {at === 0 ? "0" : duration(spanMs * at)}
          </span>
        ))}
      </span>
      <span role="columnheader" class="num">
        Duration
      </span>
    </div>
  );
}

export interface WaterfallRowProps {
  row: WaterfallRow;
  waterfall: Waterfall;
  collapsed: boolean;
  onToggle: (row: WaterfallRow) => void;
}

export function WaterfallRowView({ row, waterfall, collapsed, onToggle }: WaterfallRowProps) {
  const total = Number(waterfall.endNs - waterfall.startNs) || 1;
  const left = (Number(row.startNs - waterfall.startNs) / total) * 100;
  const end = row.endNs ?? waterfall.endNs;
  const width = Math.max(0, (Number(end - row.startNs) / total) * 100);
  const first = row.events[0];
  const kind = row.kind === "event" ? words(typeName(first.type)) : KIND_LABELS[row.kind];
  const ms = Number(end - row.startNs) / 1e6;
  return (
    <div class={`waterfall-grid kind-${row.kind}${row.failed ? " failed" : ""}`}>
      <span class="span-name" style={{ paddingLeft: `${row.depth * 14}px` }}>
        {row.childCount > 0 ? (
          <button
            type="button"
            class="fold"
            aria-expanded={!collapsed}
            aria-label={`${collapsed ? "Unfold" : "Fold"} ${row.label || kind}`}
            onClick={(event) => {
              // Folding is not selecting: the grid reads the rest of a click as a selection.
              event.stopPropagation();
              onToggle(row);
            }}
          >
            {collapsed ? "▸" : "▾"}
          </button>
        ) : (
          <span class="fold" aria-hidden="true" />
        )}
        <span class={`kind-tag kind-${row.kind}`}>{kind}</span>
        <span class="ellipsis">{row.label}</span>
        {row.events.some((event) => event.wormProofId) ? (
          <span class="sealed" title="In a signed checkpoint">
            ✓
          </span>
        ) : null}
      </span>
      <span class="track">
        {row.kind === "event" ? (
          <span class="tick" style={{ left: `${left}%` }} />
        ) : (
          <span
            class={row.endNs === undefined ? "bar open" : "bar"}
            style={{ left: `${left}%`, width: `max(2px, ${width}%)` }}
          />
        )}
      </span>
      <span class="num muted">{row.kind === "event" ? "" : row.endNs === undefined ? "running" : duration(ms)}</span>
    </div>
  );
}
