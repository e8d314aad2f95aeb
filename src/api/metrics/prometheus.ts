import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { Bound, Metrics, RejectionReason, RequestLabels } from "../../lib/metrics.ts";
import { within } from "../../lib/within.ts";

/** What the metrics read when scraped: the pool now, the ingest queue, the integrator's progress. */
export interface MetricSources {
  connections(): { open: number; idle: number; waiting: number };
  /** Events waiting in the ingest queue; may fail or be slow when the database is. */
  queueDepth(): Promise<number>;
  /** When (epoch ms) the integrator's last successful round began (IngestQueueDrain.caughtUpAt). */
  caughtUpAt(): number | undefined;
  /** Whether this process's integrator holds the background lease: only its progress is reported. */
  integratesHere(): boolean;
}

export interface PrometheusOptions {
  version: string;
  /** Labels ingest counters with the tenant: one series per tenant, so off by default. */
  tenantLabel: boolean;
}

/** Longest a scrape waits for the queue depth; past it the queue's two gauges are left out. */
const QUEUE_SAMPLE_TIMEOUT_MS = 2000;

const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const BATCH_EVENTS = [1, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000];

/**
 * The server's metrics in a prom-client registry, with Node.js's defaults (process, event loop, GC).
 * Counters and histograms move as things happen; the gauges are sampled by `render`.
 */
export class PrometheusMetrics implements Metrics {
  readonly registry = new Registry();
  readonly #sources: MetricSources;
  readonly #tenantLabel: boolean;
  readonly #startedAt = Date.now();

  readonly #received = this.#counter("chaukas_ingest_events_received_total", "Events received for ingest.", [
    "protocol",
  ]);
  readonly #accepted: Counter<string>;
  readonly #rejected: Counter<string>;
  readonly #duplicates = this.#counter(
    "chaukas_ingest_events_duplicate_total",
    "Accepted events that were already stored (re-sent), left as they were.",
  );
  readonly #batches = new Histogram({
    name: "chaukas_ingest_batch_events",
    help: "Events per ingest batch.",
    buckets: BATCH_EVENTS,
    registers: [this.registry],
  });
  readonly #requests = this.#counter("chaukas_rpc_requests_total", "Requests answered, on every route.", [
    "service",
    "method",
    "protocol",
    "code",
  ]);
  readonly #requestSeconds = new Histogram({
    name: "chaukas_rpc_request_duration_seconds",
    help: "Time from a request's arrival to the end of its answer.",
    labelNames: ["service", "method", "protocol"],
    buckets: SECONDS,
    registers: [this.registry],
  });
  readonly #refusals = this.#counter(
    "chaukas_backpressure_refusals_total",
    "Requests or batches refused because a memory bound would be passed, by bound.",
    ["bound"],
  );
  readonly #authFailures = this.#counter("chaukas_auth_failures_total", "Requests whose credentials were refused.", [
    "reason",
  ]);
  readonly #storeSeconds = new Histogram({
    name: "chaukas_db_statement_duration_seconds",
    help: "Time of each store operation, waiting for a connection included, by operation.",
    labelNames: ["op"],
    buckets: SECONDS,
    registers: [this.registry],
  });
  readonly #connections = this.#gauge("chaukas_db_pool_connections", "Database connections of the pool, by state.", [
    "state",
  ]);
  readonly #queueDepth = this.#gauge(
    "chaukas_ingest_queue_depth",
    "Stored events waiting for the integrator (audit log position, stats rollups).",
  );
  readonly #lag = this.#gauge(
    "chaukas_audit_integration_lag_seconds",
    "How long the oldest queued event has waited at most: 0 with an empty queue, else the time since the integrator last caught up.",
  );
  readonly #checkpointAge = this.#gauge(
    "chaukas_audit_checkpoint_age_seconds",
    "Time since the integrator last caught up: every event stored before then is in a signed checkpoint, unless an older transaction of the database was still open then.",
  );

  constructor(sources: MetricSources, options: PrometheusOptions) {
    this.#sources = sources;
    this.#tenantLabel = options.tenantLabel;
    const tenant = options.tenantLabel ? ["tenant"] : [];
    this.#accepted = this.#counter("chaukas_ingest_events_accepted_total", "Events accepted (stored).", tenant);
    this.#rejected = this.#counter("chaukas_ingest_events_rejected_total", "Events refused, by reason.", [
      "reason",
      ...tenant,
    ]);
    this.#gauge("chaukas_build_info", "This server's version; always 1.", ["version", "node"]).set(
      { version: options.version, node: process.version },
      1,
    );
    collectDefaultMetrics({ register: this.registry });
  }

  eventsReceived(protocol: string, count: number): void {
    this.#received.inc({ protocol }, count);
  }

  eventsAccepted(tenantId: string, count: number): void {
    this.#accepted.inc(this.#tenantLabel ? { tenant: tenantId } : {}, count);
  }

  eventsRejected(reason: RejectionReason, tenantId: string, count: number): void {
    this.#rejected.inc(this.#tenantLabel ? { reason, tenant: tenantId } : { reason }, count);
  }

  eventsDuplicate(count: number): void {
    this.#duplicates.inc(count);
  }

  ingestBatch(events: number): void {
    this.#batches.observe(events);
  }

  requestFinished(labels: RequestLabels, seconds: number): void {
    this.#requests.inc({ ...labels });
    this.#requestSeconds.observe(
      { service: labels.service, method: labels.method, protocol: labels.protocol },
      seconds,
    );
  }

  backpressureRefused(bound: Bound): void {
    this.#refusals.inc({ bound });
  }

  authFailed(reason: string): void {
    this.#authFailures.inc({ reason });
  }

  storeOperation(op: string, seconds: number): void {
    this.#storeSeconds.observe({ op }, seconds);
  }

  /** The text exposition of every metric, gauges sampled now. */
  async render(): Promise<string> {
    await this.#sample();
    return this.registry.metrics();
  }

  async #sample(): Promise<void> {
    const pool = this.#sources.connections();
    this.#connections.set({ state: "active" }, pool.open - pool.idle);
    this.#connections.set({ state: "idle" }, pool.idle);
    this.#connections.set({ state: "waiting" }, pool.waiting);
    const now = Date.now();
    const caughtUpAt = this.#sources.caughtUpAt() ?? this.#startedAt;
    // Another process integrates: its age and lag are its own to report.
    const here = this.#sources.integratesHere();
    if (here) this.#checkpointAge.set((now - caughtUpAt) / 1000);
    else this.#checkpointAge.reset();
    try {
      const depth = await within(this.#sources.queueDepth(), QUEUE_SAMPLE_TIMEOUT_MS);
      this.#queueDepth.set(depth);
      if (here) this.#lag.set(depth === 0 ? 0 : (now - caughtUpAt) / 1000);
      else this.#lag.reset();
    } catch {
      // Unknown now: left out rather than shown stale (alert on absent() for a database outage).
      this.#queueDepth.reset();
      this.#lag.reset();
    }
  }

  #counter(name: string, help: string, labelNames: string[] = []): Counter<string> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  #gauge(name: string, help: string, labelNames: string[] = []): Gauge<string> {
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }
}
