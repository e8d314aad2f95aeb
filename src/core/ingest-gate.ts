import { getHeapStatistics } from "node:v8";
import { OverloadedError } from "../lib/errors.ts";
import { type Metrics, NO_METRICS } from "../lib/metrics.ts";
import { releaseOnce } from "../lib/release-once.ts";

const HEAP_SAMPLE_MS = 50;

export interface IngestGateOptions {
  /** Most events being validated and written at once, across all requests. */
  maxInFlightEvents: number;
  /** Refuse new ingest work while the JS heap holds more than this many bytes. */
  maxHeapBytes: number;
}

export interface IngestPressure {
  inFlightEvents: number;
  heapUsedBytes: number;
}

/**
 * Bounds the memory ingest may use. Work over the bound is refused before it is stored (never half
 * stored), so the server sheds load instead of slowing down or running out of memory; work already
 * admitted always completes, so nothing acknowledged is lost.
 */
export class IngestGate {
  readonly options: IngestGateOptions;
  readonly #metrics: Metrics;
  #inFlightEvents = 0;
  #heapSample = 0;
  #heapSampledAt = Number.NEGATIVE_INFINITY;

  constructor(options: IngestGateOptions, metrics: Metrics = NO_METRICS) {
    this.options = options;
    this.#metrics = metrics;
  }

  /** Admits `events` events or throws OverloadedError. Call the returned function when done. */
  admit(events: number): () => void {
    const heapUsed = this.#heapUsed();
    if (heapUsed > this.options.maxHeapBytes) {
      this.#metrics.backpressureRefused("heap");
      throw new OverloadedError(`heap at ${mib(heapUsed)} of a ${mib(this.options.maxHeapBytes)} bound`, 1);
    }
    if (this.#inFlightEvents + events > this.options.maxInFlightEvents) {
      this.#metrics.backpressureRefused("inflight_events");
      throw new OverloadedError(
        `${this.#inFlightEvents} events in flight, ${events} more would pass the bound of ${this.options.maxInFlightEvents}`,
        1,
      );
    }
    this.#inFlightEvents += events;
    return releaseOnce(() => {
      this.#inFlightEvents -= events;
    });
  }

  pressure(): IngestPressure {
    return { inFlightEvents: this.#inFlightEvents, heapUsedBytes: this.#heapUsed() };
  }

  /** Read at most every HEAP_SAMPLE_MS: reading it on every request cost several % of ingest. */
  #heapUsed(): number {
    const now = performance.now();
    if (now - this.#heapSampledAt >= HEAP_SAMPLE_MS) {
      this.#heapSample = getHeapStatistics().used_heap_size;
      this.#heapSampledAt = now;
    }
    return this.#heapSample;
  }
}

/** Three quarters of V8's heap limit: room for queries and GC headroom above the ingest bound. */
export function defaultMaxHeapBytes(): number {
  return Math.floor(getHeapStatistics().heap_size_limit * 0.75);
}

function mib(bytes: number): string {
  return `${Math.round(bytes / 1024 / 1024)} MiB`;
}
