import { rmSync } from "node:fs";
import type { ServerProcess } from "../kit/server-process.ts";
import { type BenchContext, startServer } from "./context.ts";
import { type BenchDatabase, cpuDelta } from "./database.ts";
import type { IngestCorpus } from "./ingest-corpus.ts";
import {
  grpcBatches,
  grpcSingles,
  type RunTotals,
  runGrpcBatches,
  runGrpcSingles,
  runSdkBatches,
  sdkBatchBodies,
} from "./load.ts";
import { log, progress } from "./log.ts";
import { CpuMeter, processCpuSeconds, processMinorFaults, sampleMemory } from "./meters.ts";
import { latency, mib, round, thousands } from "./stats.ts";

export type IngestMode = "grpcBatch500" | "sdkBatch20" | "singleEvent";
export type IngestRuns = Partial<Record<IngestMode, IngestResult>>;

export interface IngestResult {
  what: string;
  events: number;
  requests: number;
  seconds: number;
  eventsPerSec: number;
  mbPerSec: number;
  p50Ms: number;
  p99Ms: number;
  peakRssMb: number;
  serverCpuSeconds: number;
  /** The server's minor page faults during the run (absent in results written before it was counted). */
  serverMinorFaults?: number;
  /** CPU seconds of the PostgreSQL backends serving the server (0 for the embedded store). */
  postgresCpuSeconds: number;
  /** CPU seconds of the load generator (this process). */
  benchCpuSeconds: number;
  /** CPU seconds used meanwhile by everything else on the machine (2 cores = 2 s per second). */
  otherCpuSeconds: number;
  ratioToCopyCeiling?: number;
  /**
   * PostgreSQL runs: ms from the last acknowledgement until no event waits for its place in the
   * audit log (the ingest queue's drain runs every second beside the ingest; this is what it left).
   */
  logCaughtUpMs?: number;
}

/** The requests of each ingest mode, encoded before the clock starts. */
interface IngestPlan {
  grpc: ReturnType<typeof grpcBatches>;
  sdk: ReturnType<typeof sdkBatchBodies>;
  singles: ReturnType<typeof grpcSingles>;
  warmGrpc: ReturnType<typeof grpcBatches>;
  warmSdk: ReturnType<typeof sdkBatchBodies>;
  warmSingles: ReturnType<typeof grpcSingles>;
}

export interface IngestPart {
  /** Names the runs in the log and the server log files. */
  label: string;
  /** The embedded store: fewer events, and a fresh data directory from `dataDir()` for each server. */
  embedded?: { dataDir: () => string };
  serverFlags?: string[];
  /** Default: every mode. */
  modes?: IngestMode[];
}

/**
 * The three ingest paths (gRPC batches, SDK batches, gRPC single events) against one store, a fresh
 * server process for each (a clean peak RSS), after a warm-up.
 */
export async function ingestPart(ctx: BenchContext, corpus: IngestCorpus, part: IngestPart): Promise<IngestRuns> {
  const { o } = ctx;
  const plan = ingestPlan(ctx, corpus, part.embedded !== undefined);
  const c = o.grpcConnections;
  const label = part.label;
  const modes = [
    {
      key: "grpcBatch500" as const,
      what: `gRPC IngestEventBatch, ${o.grpcBatch} events, ${c} HTTP/2 connections x ${o.grpcStreams} streams`,
      warm: (url: string) => runGrpcBatches(url, plan.warmGrpc, c, o.grpcStreams),
      run: (url: string) =>
        runGrpcBatches(url, plan.grpc, c, o.grpcStreams, progress(`${label} gRPC batches`, plan.grpc.length)),
    },
    {
      key: "sdkBatch20" as const,
      what: `SDK POST /events/batch, ${o.sdkBatch} events, ${o.sdkClients} clients (HTTP/1.1 keep-alive)`,
      warm: (url: string) => runSdkBatches(url, plan.warmSdk, o.sdkClients),
      run: (url: string) =>
        runSdkBatches(url, plan.sdk, o.sdkClients, progress(`${label} SDK batches`, plan.sdk.length)),
    },
    {
      key: "singleEvent" as const,
      what: `gRPC IngestEvent, 1 event, ${c} HTTP/2 connections x ${o.singleStreams} streams`,
      warm: (url: string) => runGrpcSingles(url, plan.warmSingles, c, o.singleStreams),
      run: (url: string) =>
        runGrpcSingles(url, plan.singles, c, o.singleStreams, progress(`${label} single events`, plan.singles.length)),
    },
  ];
  const results: IngestRuns = {};
  for (const mode of modes.filter((m) => !part.modes || part.modes.includes(m.key))) {
    const dataDir = part.embedded?.dataDir();
    const store = dataDir ? { dataDir } : { databaseUrl: ctx.db.url };
    const db = dataDir ? undefined : ctx.db;
    log(`${label}: ${mode.what}: starting a server`);
    const server = await startServer(ctx, `${label}-${mode.key}`, store, part.serverFlags);
    try {
      log(`${label}: ${mode.what}: warm-up`);
      await mode.warm(server.baseUrl);
      log(`${label}: ${mode.what}: measuring`);
      const r = await measureIngest(mode.what, server, db, () => mode.run(server.baseUrl));
      results[mode.key] = r;
      log(
        `${label}: ${thousands(r.eventsPerSec)} events/s, p99 ${r.p99Ms} ms, peak RSS ${r.peakRssMb} MiB; CPU s: server ${r.serverCpuSeconds} (${thousands(r.serverMinorFaults ?? 0)} page faults), postgres ${r.postgresCpuSeconds}, bench ${r.benchCpuSeconds}, others ${r.otherCpuSeconds} in ${r.seconds} s${r.logCaughtUpMs === undefined ? "" : `; audit log caught up ${r.logCaughtUpMs} ms after the last answer`}`,
      );
    } finally {
      await server.stop();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    }
  }
  return results;
}

function ingestPlan({ o }: BenchContext, corpus: IngestCorpus, embedded: boolean): IngestPlan {
  const { events, warm } = corpus;
  const batchEvents = embedded ? events.slice(0, o.embeddedEvents) : events;
  const singleEvents = events.slice(0, embedded ? o.embeddedSingleEvents : o.singleEvents);
  return {
    grpc: grpcBatches(batchEvents, o.grpcBatch, o.seed),
    sdk: sdkBatchBodies(batchEvents, o.sdkBatch, o.seed),
    singles: grpcSingles(singleEvents),
    warmGrpc: grpcBatches(warm, o.grpcBatch, o.seed + 1),
    warmSdk: sdkBatchBodies(warm.slice(0, warm.length / 2), o.sdkBatch, o.seed + 1),
    warmSingles: grpcSingles(warm.slice(0, warm.length / 4)),
  };
}

/**
 * One measured ingest: empties the database (PostgreSQL runs), samples the server while `run`
 * sends, checks every event was stored and waits until the audit log has them all.
 */
export async function measureIngest(
  what: string,
  server: ServerProcess,
  db: BenchDatabase | undefined,
  run: () => Promise<RunTotals>,
): Promise<IngestResult> {
  if (db) await db.emptyIngested();
  const memory = sampleMemory(server.pid);
  const cpuBefore = processCpuSeconds(server.pid);
  const faultsBefore = processMinorFaults(server.pid);
  const pgBefore = db ? await db.backendCpu() : new Map();
  const cpu = new CpuMeter();
  const totals = await run();
  const serverCpuSeconds = round(processCpuSeconds(server.pid) - cpuBefore, 2);
  const serverMinorFaults = processMinorFaults(server.pid) - faultsBefore;
  const pgAfter = db ? await db.backendCpu() : new Map();
  const postgresCpuSeconds = cpuDelta(pgBefore, pgAfter);
  const others = cpu.finish(serverCpuSeconds, postgresCpuSeconds);
  const peak = memory.stop();
  let logCaughtUpMs: number | undefined;
  if (db) {
    const stored = await db.count("events");
    if (stored !== totals.events) throw new Error(`${what}: ${stored} events stored, ${totals.events} sent`);
    logCaughtUpMs = await db.auditCaughtUp(what);
  }
  const l = latency(totals.latenciesMs);
  return {
    what,
    events: totals.events,
    requests: totals.requests,
    seconds: round(totals.seconds, 2),
    eventsPerSec: round(totals.events / totals.seconds),
    mbPerSec: round(totals.bytes / 1024 / 1024 / totals.seconds, 2),
    p50Ms: l.p50Ms,
    p99Ms: l.p99Ms,
    peakRssMb: mib(peak),
    serverCpuSeconds,
    serverMinorFaults,
    postgresCpuSeconds,
    ...others,
    logCaughtUpMs,
  };
}
