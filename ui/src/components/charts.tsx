import { useEffect, useRef, useState } from "preact/hooks";
import { absoluteTime } from "../format.ts";

/** Small hand-made charts: horizontal bars for breakdowns, SVG columns for a series over time. */

export interface Bar {
  label: string;
  value: number;
  /** What the value reads as, e.g. "1.2k tokens". */
  text: string;
  danger?: boolean;
}

export function BarList({ bars, empty = "Nothing in this range" }: { bars: Bar[]; empty?: string }) {
  if (bars.length === 0) return <p class="muted">{empty}</p>;
  const max = Math.max(...bars.map((bar) => bar.value), 1);
  return (
    <ul class="barlist">
      {bars.map((bar) => (
        <li key={bar.label} title={`${bar.label}: ${bar.text}`}>
          <span class="barlist-label">{breakingAtUnderscores(bar.label)}</span>
          <span class="barlist-track">
            <span
              class={bar.danger ? "barlist-bar danger" : "barlist-bar"}
              style={{ width: `${(bar.value / max) * 100}%` }}
            />
          </span>
          <span class="barlist-value">{bar.text}</span>
        </li>
      ))}
    </ul>
  );
}

/** A long name wraps after its underscores (`MODEL_INVOCATION_` / `START`) rather than lose its end. */
function breakingAtUnderscores(label: string) {
  return label.split(/(?<=_)/).flatMap((part, i) => (i ? [<wbr key={i} />, part] : [part]));
}

export interface Point {
  startMs: number;
  value: number;
  /** Part of value drawn in the danger colour (errors among events). */
  danger?: number;
}

/** Columns over time with a labelled axis; each column's title gives its exact figures. */
export function TimeChart({ points, label, unit }: { points: Point[]; label: string; unit: string }) {
  // The width it is drawn at, so its text stays at its font size on any screen.
  const svg = useRef<SVGSVGElement>(null);
  const [width, setWidth] = useState(1300);
  useEffect(() => {
    if (!svg.current) return;
    const observer = new ResizeObserver(([entry]) => setWidth(Math.max(200, Math.round(entry.contentRect.width))));
    observer.observe(svg.current);
    return () => observer.disconnect();
  }, [points.length === 0]);
  const height = 200;
  const pad = { left: 44, right: 8, top: 8, bottom: 22 };
  if (points.length === 0) return <p class="muted">Nothing in this range</p>;
  const max = Math.max(...points.map((p) => p.value), 1);
  const step = (width - pad.left - pad.right) / points.length;
  const y = (value: number) => pad.top + (height - pad.top - pad.bottom) * (1 - value / max);
  const ticks = [0, max / 2, max];
  const labels = [...new Set([0, Math.floor(points.length / 2), points.length - 1])];
  const last = labels.length - 1;
  return (
    <svg ref={svg} class="timechart" viewBox={`0 0 ${width} ${height}`} role="img" aria-label={label}>
      {ticks.map((tick) => (
        <g key={tick}>
          <line class="grid" x1={pad.left} x2={width - pad.right} y1={y(tick)} y2={y(tick)} />
          <text class="axis" x={pad.left - 6} y={y(tick) + 4} text-anchor="end">
            {Math.round(tick).toLocaleString()}
          </text>
        </g>
      ))}
      {points.map((p, i) => (
        <g key={p.startMs}>
          <title>{`${absoluteTime(p.startMs)}: ${p.value.toLocaleString()} ${unit}${p.danger ? `, ${p.danger} errors` : ""}`}</title>
          <rect
            class="col"
            x={pad.left + i * step + 1}
            width={Math.max(1, step - 2)}
            y={y(p.value)}
            height={y(0) - y(p.value)}
          />
          {p.danger ? (
            <rect
              class="col danger"
              x={pad.left + i * step + 1}
              width={Math.max(1, step - 2)}
              y={y(p.danger)}
              height={y(0) - y(p.danger)}
            />
          ) : null}
        </g>
      ))}
      {labels.map((i, n) => (
        <text
          key={i}
          class="axis"
          x={n === 0 ? pad.left : n === last ? width - pad.right : pad.left + i * step + step / 2}
          y={height - 6}
          text-anchor={n === 0 ? "start" : n === last ? "end" : "middle"}
        >
          {absoluteTime(points[i].startMs)}
        </text>
      ))}
    </svg>
  );
}
