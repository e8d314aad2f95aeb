import { writeFileSync } from "node:fs";
import { type AuditRounds, medianRun } from "./audit-cost.ts";
import type { BurstResult } from "./burst.ts";
import type { CeilingReport, CeilingResult } from "./ceiling.ts";
import type { EmbeddedStartMemory } from "./embedded-memory.ts";
import type { IngestResult, IngestRuns } from "./ingest.ts";
import type { CorpusSummary } from "./ingest-corpus.ts";
import type { Machine } from "./machine.ts";
import { collectionsInOrder } from "./meters.ts";
import type { OtlpRuns } from "./otlp.ts";
import type { QueryResult } from "./queries.ts";
import type { QueryReport } from "./query-part.ts";
import type { RedactionResult } from "./redaction.ts";
import { SESSION_VIEWS } from "./session-views.ts";
import type { SoakResult } from "./soak.ts";
import { markdownTable, round, table, thousands } from "./stats.ts";
import type { TailReport } from "./tail.ts";
import type { TaxResult } from "./tax.ts";

/** What a run measured: the JSON file it writes, without the verdicts. */
export interface Figures {
  startedAt: string;
  command: string;
  tiny: boolean;
  seconds: number;
  machine: Machine;
  options: {
    queryEvents: number;
    ingestEvents: number;
    singleEvents: number;
    embeddedEvents: number;
    embeddedSingleEvents: number;
    grpcConnections: number;
    grpcStreams: number;
    singleStreams: number;
    sdkClients: number;
    copyChunk: number;
    serverLogLevel: string;
  };
  corpus: CorpusSummary;
  ceiling?: CeilingReport;
  ingest?: IngestRuns;
  /** The gRPC and SDK batch runs with the audit trail off and on, in alternating rounds (bench/audit-cost.ts). */
  audit?: AuditRounds;
  /** Runs before alternating rounds: the same ingest once with --disable-audit-trail. */
  ingestAuditOff?: IngestRuns;
  /** OTLP/HTTP exports beside gRPC batches (bench/otlp.ts). */
  otlp?: OtlpRuns;
  soak?: SoakResult;
  /** The soak on the embedded store, with its write-ahead log's size. */
  embeddedSoak?: SoakResult;
  redaction?: RedactionResult;
  burst?: BurstResult[];
  frameworkTax?: Record<string, TaxResult>;
  query?: QueryReport;
  embedded?: IngestRuns;
  /** The embedded store's RSS at a first start and a reopen (bench/embedded-memory.ts). */
  embeddedStart?: EmbeddedStartMemory;
  /** The query part's queries on the embedded store. */
  embeddedQuery?: QueryReport;
  tail?: TailReport;
}

/** A target, what the run measured for it, and whether that meets it. */
export interface Verdict {
  target: string;
  measured: string;
  met: string;
}

/** A run's JSON file: its figures and each target's verdict. */
export interface Report extends Figures {
  targets: Verdict[];
}

const QUERY_ROWS: Record<string, string> = {
  sessionTimeline: "query: one session's timeline",
  sessionTimelineDecoded: "query: the same, decoded by connect-es (reference)",
  trace: "query: one trace",
  typeAndTime: "query: type + one-day range",
  textRare: "query: text search, rare word",
  textCommon: "query: text search, common word",
  deepPage: "query: pages",
  dashboardSession: "dashboard: first view, one session's waterfall",
  dashboardSessions: "dashboard: first view, the sessions list",
  statsDay: "stats: one day",
  statsMonth: "stats: 30 days",
  statsAll: "stats: all time",
  ...SESSION_VIEWS,
};

const TAX_ROWS: Record<string, string> = {
  // Runs before the stack alone was measured (their Connect and gRPC clients were connect-node's).
  fastifyGet: "tax: GET /healthz (Fastify, HTTP/1.1)",
  connectHealthz: "tax: Healthz, Connect JSON, HTTP/1.1",
  grpcHealthz: "tax: Healthz, gRPC, HTTP/2",
  serverGet: "tax: server, GET /healthz (no database)",
  serverReadyz: "tax: server, GET /readyz (one statement)",
  serverConnect: "tax: server, Healthz, Connect JSON (one statement)",
  serverGrpc: "tax: server, Healthz, gRPC (one statement)",
  stackGet: "tax: stack alone, GET /healthz",
  stackConnect: "tax: stack alone, Healthz, Connect JSON",
  stackGrpc: "tax: stack alone, Healthz, gRPC",
  fastifyGrpc: "tax: Fastify alone, gRPC-shaped Healthz",
  http2Grpc: "tax: node:http2 alone, gRPC-shaped answer",
};

/** A query row's CPU per call, when its report has it. */
function callCpu(x: QueryResult): string {
  if (x.serverCpuUsPerCall === undefined) return "";
  const postgres = x.postgresCpuUsPerCall === undefined ? "" : `, PostgreSQL ${thousands(x.postgresCpuUsPerCall)} µs`;
  return `: server ${thousands(x.serverCpuUsPerCall)} µs${postgres} CPU/call`;
}

/** The measurements table: one row per run, the ingest ones as a share of the COPY ceiling. */
function measurementRows(r: Report) {
  const header = ["measurement", "events/s", "MB/s", "p50 ms", "p99 ms", "peak RSS MiB", "of COPY", "other load"];
  const rows: (string | number)[][] = [];
  const pct = (x: number | undefined) => (x === undefined ? "" : `${round(x * 100, 1)}%`);
  const ceiling = r.ceiling?.eventsPerSec;
  // The share of the machine other processes used meanwhile: their CPU seconds per second, per core.
  const others = (x: { otherCpuSeconds: number; seconds: number }) =>
    pct(x.otherCpuSeconds / x.seconds / r.machine.nproc);
  if (r.ceiling) {
    const c = r.ceiling;
    const copy = (label: string, x: CeilingResult, ratio?: number) =>
      rows.push([label, thousands(x.eventsPerSec), x.mbPerSec, "", "", "", pct(ratio), others(x)]);
    copy("COPY ceiling, 1 connection (staged, to_tsvector)", c.staged1);
    copy("COPY ceiling, 2 connections", c.staged2);
    copy("COPY raw (no tsvector, no ON CONFLICT), 2 conns", c.raw);
    copy("server's INSERT, batches of 500, no server", c.serverSql, c.serverSql.eventsPerSec / c.eventsPerSec);
  }
  const ingestRow = (label: string, x: IngestResult | undefined) => {
    if (!x) return;
    const ratio = x.ratioToCopyCeiling ?? (ceiling ? x.eventsPerSec / ceiling : undefined);
    rows.push([label, thousands(x.eventsPerSec), x.mbPerSec, x.p50Ms, x.p99Ms, x.peakRssMb, pct(ratio), others(x)]);
  };
  ingestRow("PostgreSQL: gRPC batches of 500", r.ingest?.grpcBatch500);
  ingestRow("PostgreSQL: SDK POST /events/batch of 20", r.ingest?.sdkBatch20);
  ingestRow("PostgreSQL: gRPC IngestEvent (1 event)", r.ingest?.singleEvent);
  ingestRow("PostgreSQL: OTLP/HTTP protobuf, 512 GenAI spans", r.otlp?.otlpHttp);
  // The gRPC run the OTLP part measured itself, when the ingest part did not run.
  if (!r.ingest) ingestRow("PostgreSQL: gRPC batches of 500, beside OTLP", r.otlp?.grpcBatch500);
  ingestRow("PostgreSQL, audit trail off: gRPC batches of 500", r.ingestAuditOff?.grpcBatch500);
  ingestRow("PostgreSQL, audit trail off: SDK batches of 20", r.ingestAuditOff?.sdkBatch20);
  if (r.audit) {
    const ofRounds = r.audit.rounds === 1 ? "one round" : `median of ${r.audit.rounds} rounds`;
    for (const setting of ["off", "on"] as const) {
      for (const [mode, what] of [
        ["grpcBatch500", "gRPC batches of 500"],
        ["sdkBatch20", "SDK batches of 20"],
      ] as const) {
        ingestRow(`PostgreSQL, audit trail ${setting}: ${what}, ${ofRounds}`, medianRun(r.audit[setting], mode));
      }
    }
  }
  if (r.redaction) {
    const x = r.redaction;
    for (const setting of ["off", "on"] as const) {
      x[setting].forEach((run, i) => {
        ingestRow(`PostgreSQL, redaction ${setting} (round ${i + 1}): gRPC batches of 500`, run);
      });
      const [rate, cpu] =
        setting === "off" ? [x.offEventsPerSec, x.offServerCpuUsPerEvent] : [x.onEventsPerSec, x.onServerCpuUsPerEvent];
      const label = `PostgreSQL, redaction ${setting}: median of ${x.rounds} rounds, server ${cpu} µs CPU/event`;
      rows.push([label, thousands(rate), ...Array<string>(header.length - 2).fill("")]);
    }
  }
  ingestRow("embedded (PGlite): gRPC batches of 500", r.embedded?.grpcBatch500);
  ingestRow("embedded (PGlite): SDK batches of 20", r.embedded?.sdkBatch20);
  ingestRow("embedded (PGlite): gRPC IngestEvent", r.embedded?.singleEvent);
  if (r.tail) {
    const t = r.tail;
    rows.push([
      `PostgreSQL: gRPC batches of 500, ${t.tails} tails open`,
      thousands(t.ingestWithTails),
      "",
      "",
      "",
      "",
      "",
      "",
    ]);
    rows.push([
      `live tail: ack -> delivery, ${t.tails} tails, ${thousands(t.paced.eventsPerSec)} events/s`,
      "",
      "",
      t.paced.p50Ms,
      t.paced.p99Ms,
      "",
      "",
      "",
    ]);
  }
  if (r.embeddedStart) {
    const e = r.embeddedStart;
    const idle = `${e.restSeconds} s idle`;
    rows.push(["embedded (PGlite): first start, peak", "", "", "", "", e.firstStartPeakMb, "", ""]);
    rows.push([`embedded (PGlite): after the first start, ${idle}`, "", "", "", "", e.firstStartRestMb, "", ""]);
    rows.push([`embedded (PGlite): after a reopen, ${idle}`, "", "", "", "", e.reopenRestMb, "", ""]);
  }
  const queryRows = (q: QueryReport | undefined, store: string) => {
    if (!q) return;
    for (const [key, label] of Object.entries(QUERY_ROWS)) {
      const x = q.results[key];
      if (!x) continue;
      const name = key === "deepPage" ? `${label} 1..${x.count} of a tenant, ${q.pageSize} per page` : label;
      rows.push([`${store}${name} @ ${thousands(q.events)}${callCpu(x)}`, "", "", x.p50Ms, x.p99Ms, "", "", ""]);
    }
    if (q.collections) {
      const kinds = collectionsInOrder(q.collections).map(([kind, c]) => `${c.count} ${kind} (${c.ms} ms)`);
      const gc = `${store}query server's garbage collections over the queries, stats and session views: ${kinds.join(", ") || "none"}`;
      rows.push([`${gc} @ ${thousands(q.events)}`, "", "", "", "", "", "", ""]);
    }
  };
  queryRows(r.query, "");
  queryRows(r.embeddedQuery, "embedded (PGlite): ");
  if (r.frameworkTax) {
    for (const [key, label] of Object.entries(TAX_ROWS)) {
      const t = r.frameworkTax[key];
      if (!t) continue;
      const cpu = `${thousands(t.requestsPerSec)} req/s, server ${t.serverCpuUsPerRequest} µs CPU/req`;
      rows.push([`${label}: ${cpu}`, "", "", t.p50Ms, t.p99Ms, "", "", ""]);
    }
  }
  return { header, rows };
}

/** Prints the report's tables and writes them as Markdown beside its JSON file (X.json -> X.md). */
export function render(report: Report, jsonFile: string): void {
  const { header, rows } = measurementRows(report);
  const verdicts = report.targets.map((t) => [t.target, t.measured, t.met]);
  const verdictHeader = ["target", "measured", "met"];
  const markdown = `${markdownTable(header, rows)}\n\n${markdownTable(verdictHeader, verdicts)}\n`;
  writeFileSync(`${jsonFile.replace(/\.json$/, "")}.md`, markdown);
  console.log(table(header, rows));
  console.log();
  console.log(table(verdictHeader, verdicts));
}
