/** Latency summaries and number formatting for the report. */

export interface Latency {
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Nearest-rank percentile of the samples (0 when there are none). */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return 0;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}

export function latency(samples: readonly number[]): Latency {
  return {
    count: samples.length,
    p50Ms: round(percentile(samples, 50), 2),
    p99Ms: round(percentile(samples, 99), 2),
    maxMs: round(samples.length ? Math.max(...samples) : 0, 2),
  };
}

export function round(n: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** 12345.6 -> "12,346" */
export function thousands(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

export function mib(bytes: number): number {
  return round(bytes / 1024 / 1024, 1);
}

/** A plain text table with a header row, columns padded; numbers right-aligned. */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? "").length)));
  const line = (r: string[]) =>
    r
      .map((cell, c) => (c === 0 || !/^[-\d.,%x× ]+$/.test(cell) ? cell.padEnd(widths[c]) : cell.padStart(widths[c])))
      .join("  ")
      .trimEnd();
  return [line(cells[0]), widths.map((w) => "-".repeat(w)).join("  "), ...cells.slice(1).map(line)].join("\n");
}

/** The same rows as a Markdown table, columns padded (as Biome formats Markdown); numbers right-aligned. */
export function markdownTable(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, c) => Math.max(3, ...cells.map((r) => (r[c] ?? "").length)));
  const line = (r: string[]) =>
    `| ${r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join(" | ")} |`;
  const rule = `| ${widths.map((w, c) => (c === 0 ? "-".repeat(w) : `${"-".repeat(w - 1)}:`)).join(" | ")} |`;
  return [line(cells[0]), rule, ...cells.slice(1).map(line)].join("\n");
}

/** JSON.stringify with two-space indents, short arrays of numbers or strings on one line (as Biome formats JSON). */
export function prettyJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(
    /^( *)("[^"]*": )?\[\n((?:\1 {2}(?:-?[\d.e+-]+|"[^"\n]*"),?\n)+)\1\]/gm,
    (whole, indent: string, key: string | undefined, items: string) => {
      const inline = `${indent}${key ?? ""}[${items
        .trim()
        .split(/,\n\s*/)
        .join(", ")}]`;
      return inline.length <= 120 ? inline : whole;
    },
  );
}
