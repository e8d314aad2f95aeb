import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { expect } from "vitest";

type Families = ReturnType<typeof parsePrometheusTextFormat>;

/** One scrape of `GET /metrics`, parsed by a Prometheus text parser (parse-prometheus-text-format). */
export class Scrape {
  /** As parsed: names, types, counters and gauges. */
  readonly #families: Families;
  /**
   * Parsed again without the histograms' TYPE lines, so that `<name>_count` is a series of its own:
   * the parser folds a labelled histogram's series into one and drops their labels and counts.
   */
  readonly #untyped: Families;

  constructor(text: string) {
    this.#families = parsePrometheusTextFormat(text);
    this.#untyped = parsePrometheusTextFormat(text.replace(/^# TYPE \S+ histogram\n/gm, ""));
  }

  static async of(url: string): Promise<Scrape> {
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    return new Scrape(await res.text());
  }

  has(name: string): boolean {
    return this.#families.some((f) => f.name === name);
  }

  type(name: string): string | undefined {
    return this.#families.find((f) => f.name === name)?.type;
  }

  /** The sum of the samples of `name` whose labels include `labels` (a histogram's: of its counts); 0 when none. */
  value(name: string, labels: Record<string, string> = {}): number {
    const series = this.type(name) === "HISTOGRAM" ? `${name}_count` : name;
    let total = 0;
    for (const sample of this.#samples(series)) {
      if (Object.entries(labels).every(([k, v]) => sample.labels?.[k] === v)) total += Number(sample.value);
    }
    return total;
  }

  /** How far `name` (with `labels`) moved between `before` and this scrape. */
  movedSince(before: Scrape): (name: string, labels?: Record<string, string>) => number {
    return (name, labels = {}) => this.value(name, labels) - before.value(name, labels);
  }

  /** Every label set of `name`'s samples. */
  labels(name: string): Record<string, string>[] {
    return this.#samples(name).map((m) => m.labels ?? {});
  }

  /** Without its TYPE line, each series of a histogram is a family of its own: one per label set. */
  #samples(name: string) {
    return this.#untyped.filter((f) => f.name === name).flatMap((f) => f.metrics);
  }
}
