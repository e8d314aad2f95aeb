import { type AuditModes, medianRun } from "./audit-cost.ts";
import { BURST_TARGET_GROWTH_MIB } from "./burst.ts";
import type { IngestResult } from "./ingest.ts";
import { COLLECTOR_SPANS_PER_CPU } from "./otlp.ts";
import type { QueryReport } from "./query-part.ts";
import type { Figures, Verdict } from "./report.ts";
import { SESSION_VIEWS } from "./session-views.ts";
import type { SoakResult } from "./soak.ts";
import { round, thousands } from "./stats.ts";

/** A target the server is held to, and where a run's report has the figure that answers it. */
interface Target {
  /** What the server promises. */
  target: string;
  /** The figure and how it reads; `value` undefined: not enough to judge; no figure: not measured. */
  figure: (r: Figures) => { value?: number; reads: string } | undefined;
  /** Met when the value is at least, at most, or below this. */
  bound: { atLeast: number } | { atMost: number } | { below: number };
  /** A row only when the run measured it (the opt-in parts). */
  optional?: boolean;
  /** Promised at 10M events: a figure over fewer events says how it scales, not whether it is met. */
  at10M?: boolean;
}

const QUERIES = ["sessionTimeline", "trace", "typeAndTime", "textRare", "textCommon", "deepPage"];
const STATS = ["statsDay", "statsMonth", "statsAll"];
const DASHBOARD = Object.keys(SESSION_VIEWS);
const BURSTS = [
  ["embedded", false],
  ["embedded", true],
  ["postgres", false],
  ["postgres", true],
] as const;

/** Twice the embedded store's `max_wal_size` (docs/adr/0045-embedded-checkpoints.md). */
const EMBEDDED_WAL_TARGET_MIB = 256;

const shareOfCeiling = (x: IngestResult | undefined) =>
  x?.ratioToCopyCeiling === undefined
    ? undefined
    : {
        value: x.ratioToCopyCeiling,
        reads: `${round(x.ratioToCopyCeiling * 100, 1)}% (${thousands(x.eventsPerSec)} events/s)`,
      };

/**
 * What the audit trail costs: how far below the same runs with --disable-audit-trail, median
 * against median of alternating rounds (older runs: the ingest part against one run without it).
 */
function auditCost(r: Figures, mode: AuditModes) {
  const [on, off] = r.audit
    ? [medianRun(r.audit.on, mode), medianRun(r.audit.off, mode)]
    : [r.ingest?.[mode], r.ingestAuditOff?.[mode]];
  if (!on || !off) return undefined;
  const cost = 1 - on.eventsPerSec / off.eventsPerSec;
  const medians = r.audit && r.audit.rounds > 1 ? `, medians of ${r.audit.rounds} alternating rounds` : "";
  return {
    value: cost,
    reads: `${round(Math.abs(cost) * 100, 1)}% ${cost < 0 ? "above" : "below"} (${thousands(on.eventsPerSec)} vs ${thousands(off.eventsPerSec)} events/s${medians})`,
  };
}

/** The last minute's peak RSS over the second minute's. */
function flatMemory(soak: SoakResult) {
  return {
    value: soak.secondMinutePeakRssMb > 0 ? soak.lastMinutePeakRssMb / soak.secondMinutePeakRssMb : undefined,
    reads: `peak RSS ${soak.secondMinutePeakRssMb} MiB in minute 2, ${soak.lastMinutePeakRssMb} MiB in the last minute (${soak.seconds} s, ${thousands(soak.events)} events)`,
  };
}

/** The embedded store's write-ahead log: its largest sample in the last minute, and over the run. */
function flatLog(soak: SoakResult) {
  const wal = soak.samples.filter((x) => x.walMb !== undefined);
  if (!wal.length) return undefined;
  const peakFrom = (from: number) => Math.max(...wal.filter((x) => x.seconds >= from).map((x) => x.walMb ?? 0));
  const lastMinute = peakFrom(soak.seconds - 60);
  return {
    value: lastMinute,
    reads: `${lastMinute} MiB at most in the last minute, ${peakFrom(0)} MiB over the run (${soak.seconds} s, ${thousands(soak.events)} events)`,
  };
}

/** The slowest of `kinds` by p99, at the size the run loaded; `sizeNote`: say when that is short of 10M. */
function worstP99(r: QueryReport | undefined, kinds: string[], sizeNote = true) {
  if (!r) return undefined;
  const q = r.results;
  const measured = kinds.filter((k) => q[k]);
  if (!measured.length) return undefined;
  const worst = measured.reduce((a, b) => (q[a].p99Ms >= q[b].p99Ms ? a : b));
  const at = `at ${thousands(r.events)} events${r.events >= 10_000_000 || !sizeNote ? "" : ", not 10M"}`;
  return { value: q[worst].p99Ms, reads: `${q[worst].p99Ms} ms, ${worst} (${at})` };
}

/**
 * A unary call's req/s as a share of GET /readyz's on the same server (each runs one statement),
 * and the same share for the RPC stack alone (no database) beside it: the most the stack allows.
 */
function taxShare(r: Figures, call: "Connect" | "Grpc") {
  const t = r.frameworkTax;
  const rpc = t?.[`server${call}`];
  const base = t?.serverReadyz;
  if (!rpc || !base) return undefined;
  const share = rpc.requestsPerSec / base.requestsPerSec;
  const stackRpc = t[`stack${call}`];
  const stackGet = t.stackGet;
  const alone =
    stackRpc && stackGet
      ? `; the stack alone ${round((stackRpc.requestsPerSec / stackGet.requestsPerSec) * 100, 1)}% of its bare GET`
      : "";
  // The floors under connect beside the gRPC figure, so a change of Fastify or Node.js shows in the same line.
  const under = [
    t.fastifyGrpc && `Fastify alone ${t.fastifyGrpc.serverCpuUsPerRequest}`,
    t.http2Grpc && `node:http2 alone ${t.http2Grpc.serverCpuUsPerRequest}`,
  ].filter(Boolean);
  const floors = call === "Grpc" && under.length > 0 ? `; ${under.join(", ")} µs/call` : "";
  return {
    value: share,
    reads: `${round(share * 100, 1)}% (${thousands(rpc.requestsPerSec)} vs ${thousands(base.requestsPerSec)} req/s; server CPU ${rpc.serverCpuUsPerRequest} vs ${base.serverCpuUsPerRequest} µs/req${alone}${floors})`,
  };
}

const eventsPerSec = (x: IngestResult | undefined) =>
  x ? { value: x.eventsPerSec, reads: `${thousands(x.eventsPerSec)} events/s` } : undefined;

/** The targets, in the order a report lists them. */
export const TARGETS: readonly Target[] = [
  {
    target: "gRPC batches of 500 >= 60% of the COPY ceiling",
    figure: (r) => shareOfCeiling(r.ingest?.grpcBatch500),
    bound: { atLeast: 0.6 },
  },
  {
    target: "SDK batches of 20 >= 40% of the COPY ceiling",
    figure: (r) => shareOfCeiling(r.ingest?.sdkBatch20),
    bound: { atLeast: 0.4 },
  },
  {
    target: "single IngestEvent >= 4,000 events/s (PostgreSQL)",
    figure: (r) => eventsPerSec(r.ingest?.singleEvent),
    bound: { atLeast: 4000 },
  },
  {
    target: "Healthz over Connect JSON >= 70% of GET /readyz (req/s; each runs one statement)",
    figure: (r) => taxShare(r, "Connect"),
    bound: { atLeast: 0.7 },
  },
  {
    target: "Healthz over gRPC >= 50% of GET /readyz (req/s; each runs one statement)",
    figure: (r) => taxShare(r, "Grpc"),
    bound: { atLeast: 0.5 },
  },
  {
    target: "OTLP/HTTP protobuf, 512 GenAI spans >= 50% of gRPC batches of 500 (events/s, same run)",
    figure: (r) => {
      const otlp = r.otlp;
      if (!otlp?.ratioToGrpcBatch) return undefined;
      const { eventsPerSec, spansPerSec } = otlp.otlpHttp;
      return {
        value: otlp.ratioToGrpcBatch,
        reads: `${round(otlp.ratioToGrpcBatch * 100, 1)}% (${thousands(eventsPerSec)} events/s, ${thousands(spansPerSec)} spans/s; the OTel Collector publishes ~${thousands(COLLECTOR_SPANS_PER_CPU)} spans/s per CPU)`,
      };
    },
    bound: { atLeast: 0.5 },
    // Runs before this part existed have no row for it.
    optional: true,
  },
  {
    target: "audit trail on: no more than 10% below off (gRPC batches of 500)",
    figure: (r) => auditCost(r, "grpcBatch500"),
    bound: { atMost: 0.1 },
  },
  {
    target: "audit trail on: no more than 10% below off (SDK batches of 20)",
    figure: (r) => auditCost(r, "sdkBatch20"),
    bound: { atMost: 0.1 },
  },
  {
    target: "memory flat under sustained load: last minute's peak RSS <= 110% of minute 2's",
    figure: ({ soak }) => soak && flatMemory(soak),
    bound: { atMost: 1.1 },
    optional: true,
  },
  {
    target: "memory flat under sustained load (embedded): last minute's peak RSS <= 110% of minute 2's",
    figure: ({ embeddedSoak }) => embeddedSoak && flatMemory(embeddedSoak),
    bound: { atMost: 1.1 },
    optional: true,
  },
  {
    target: `embedded write-ahead log flat under sustained load: last minute's peak <= ${EMBEDDED_WAL_TARGET_MIB} MiB`,
    figure: ({ embeddedSoak }) => embeddedSoak && flatLog(embeddedSoak),
    bound: { atMost: EMBEDDED_WAL_TARGET_MIB },
    optional: true,
  },
  ...BURSTS.map(
    ([store, keyed]): Target => ({
      target: `burst of large requests, ${keyed ? "with" : "without"} a key (${store}): RSS grows < ${BURST_TARGET_GROWTH_MIB} MiB, Healthz answers`,
      figure: (r) => {
        const b = r.burst?.find((x) => x.store === store && x.keyed === keyed);
        return (
          b && {
            value: b.healthz.count > 0 ? b.peakRssGrowthMib : Number.POSITIVE_INFINITY,
            reads: `${b.requests} requests: +${b.peakRssGrowthMib} MiB over ${b.rssBeforeMib} MiB; Healthz p99 ${b.healthz.p99Ms} ms (${b.healthz.count} answered, ${b.healthz.failed} failed)`,
          }
        );
      },
      bound: { below: BURST_TARGET_GROWTH_MIB },
      optional: true,
    }),
  ),
  {
    target: "server peak RSS <= 256 MB (PostgreSQL runs)",
    figure: (r) => {
      const rss = [...Object.values(r.ingest ?? {}).map((x) => x.peakRssMb), ...(r.query ? [r.query.peakRssMb] : [])];
      if (!rss.length) return undefined;
      const peak = Math.max(...rss);
      return { value: peak * 1024 * 1024, reads: `${peak} MiB (${round((peak * 1024 * 1024) / 1e6)} MB)` };
    },
    bound: { atMost: 256e6 },
  },
  {
    target: "embedded >= 1,000 events/s (gRPC batches)",
    figure: (r) => eventsPerSec(r.embedded?.grpcBatch500),
    bound: { atLeast: 1000 },
  },
  {
    target: "embedded >= 1,500 events/s (single events)",
    figure: (r) => eventsPerSec(r.embedded?.singleEvent),
    bound: { atLeast: 1500 },
  },
  {
    target: "embedded: RSS at rest after a start <= 200 MiB (first start and reopen, the larger)",
    figure: ({ embeddedStart: e }) =>
      e && {
        value: Math.max(e.firstStartRestMb, e.reopenRestMb),
        reads: `${Math.max(e.firstStartRestMb, e.reopenRestMb)} MiB (first start ${e.firstStartRestMb}, reopen ${e.reopenRestMb}; ${e.restSeconds} s idle)`,
      },
    bound: { atMost: 200 },
    // Runs before the embedded store's memory was measured have no row for it.
    optional: true,
  },
  {
    target: "embedded: peak RSS <= 400 MiB on a first start (fresh data directory)",
    figure: ({ embeddedStart: e }) => e && { value: e.firstStartPeakMb, reads: `${e.firstStartPeakMb} MiB` },
    bound: { atMost: 400 },
    optional: true,
  },
  {
    target: "embedded: peak RSS <= 400 MiB under ingest (worst of the three runs)",
    figure: ({ embedded, embeddedStart }) => {
      const runs = Object.entries(embedded ?? {});
      if (!embeddedStart || !runs.length) return undefined;
      const [mode, worst] = runs.reduce((a, b) => (a[1].peakRssMb >= b[1].peakRssMb ? a : b));
      return { value: worst.peakRssMb, reads: `${worst.peakRssMb} MiB, ${mode}` };
    },
    bound: { atMost: 400 },
    optional: true,
  },
  {
    target: "embedded: session timeline and stats p99 <= 50 ms at 300k events (worst)",
    figure: ({ embeddedQuery: q }) => {
      if (!q) return undefined;
      const worst = worstP99(q, ["sessionTimeline", ...STATS], false);
      return worst && { ...worst, value: q.events >= 300_000 ? worst.value : undefined };
    },
    bound: { atMost: 50 },
    optional: true,
  },
  {
    target: "dashboard: first view drawn <= 1 s (slowest of a session's waterfall and the sessions list, p50)",
    figure: (r) => {
      const views = ["dashboardSession", "dashboardSessions"]
        .map((k) => r.query?.results[k])
        .filter((x) => x !== undefined);
      if (!r.query || !views.length) return undefined;
      const slowest = Math.max(...views.map((x) => x.p50Ms));
      return { value: slowest, reads: `${slowest} ms at ${thousands(r.query.events)} events` };
    },
    bound: { atMost: 1000 },
  },
  {
    target: "live tail: p99 acknowledgement -> delivery <= 1 s (10 tails, 1,000 events/s)",
    figure: ({ tail }) =>
      tail && {
        value: tail.paced.missing > 0 ? Number.POSITIVE_INFINITY : tail.paced.p99Ms,
        reads: `${tail.paced.p99Ms} ms (p50 ${tail.paced.p50Ms} ms, max ${tail.paced.maxMs} ms; ${thousands(tail.paced.deliveries)} deliveries, ${tail.paced.missing} missing)`,
      },
    bound: { atMost: 1000 },
  },
  {
    target: "live tail: ingest with 10 tails open no more than 10% below without (gRPC batches of 500)",
    figure: ({ tail }) => {
      if (!tail) return undefined;
      const cost = 1 - tail.ingestWithTails / tail.ingestWithoutTails;
      return {
        value: cost,
        reads: `${round(Math.abs(cost) * 100, 1)}% ${cost < 0 ? "above" : "below"} (${thousands(tail.ingestWithTails)} vs ${thousands(tail.ingestWithoutTails)} events/s; ${tail.slowEnds} slow-subscriber ends, ${tail.failures} failed calls${tail.tailReadsWithTails === undefined ? "" : `, ${thousands(tail.tailReadsWithTails)} tail reads in ${thousands(tail.tailRoundsWithTails ?? 0)} rounds`})`,
      };
    },
    bound: { atMost: 0.1 },
  },
  {
    target: "redaction: ingest with the realistic rule set no more than 15% below without (gRPC batches of 500)",
    figure: ({ redaction: x }) => {
      if (!x) return undefined;
      const cost = 1 - x.onEventsPerSec / x.offEventsPerSec;
      return {
        value: cost,
        reads: `${round(Math.abs(cost) * 100, 1)}% ${cost < 0 ? "above" : "below"} (${thousands(x.onEventsPerSec)} vs ${thousands(x.offEventsPerSec)} events/s, medians of ${x.rounds} rounds; server CPU per event ${round(x.cpuPerEventIncrease * 100, 1)}% more)`,
      };
    },
    bound: { atMost: 0.15 },
    // An opt-in part.
    optional: true,
  },
  {
    target: "query p99 <= 20 ms at 10M events (worst query)",
    figure: (r) => worstP99(r.query, QUERIES),
    bound: { atMost: 20 },
    at10M: true,
  },
  {
    target: "stats p99 <= 50 ms at 10M events (worst range)",
    figure: (r) => worstP99(r.query, STATS),
    bound: { atMost: 50 },
    at10M: true,
  },
  {
    // The dashboard's first view renders within 1 s; its calls are a tenth of that.
    target: "dashboard ListSessions and GetUsage p99 <= 100 ms at 300k events (worst call)",
    figure: (r) => (r.query && r.query.events >= 300_000 ? worstP99(r.query, DASHBOARD) : undefined),
    bound: { atMost: 100 },
  },
];

function meets(value: number, bound: Target["bound"]): boolean {
  if ("atLeast" in bound) return value >= bound.atLeast;
  if ("atMost" in bound) return value <= bound.atMost;
  return value < bound.below;
}

/** Each target with what this run measured and whether that meets it. */
export function judge(r: Figures): Verdict[] {
  return TARGETS.flatMap((t) => {
    const figure = t.figure(r);
    if (!figure) return t.optional ? [] : [{ target: t.target, measured: "not measured", met: "not measured" }];
    if (figure.value === undefined) return [{ target: t.target, measured: figure.reads, met: "not measured" }];
    const met = meets(figure.value, t.bound) ? "met" : "missed";
    const full = !t.at10M || (r.query?.events ?? 0) >= 10_000_000;
    return [{ target: t.target, measured: figure.reads, met: full ? met : `${met} at this size` }];
  });
}
