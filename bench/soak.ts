import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { type BenchContext, startServer } from "./context.ts";
import type { IngestCorpus } from "./ingest-corpus.ts";
import { grpcBatches, runGrpcBatches } from "./load.ts";
import { log } from "./log.ts";
import { processMemory } from "./meters.ts";
import { mib, round, thousands } from "./stats.ts";

export interface SoakResult {
  /** Absent in runs from before the embedded soak: PostgreSQL. */
  store?: "postgres" | "embedded";
  seconds: number;
  events: number;
  eventsPerSec: number;
  secondMinutePeakRssMb: number;
  lastMinutePeakRssMb: number;
  /** The server's RSS every 10 s; on the embedded store, also the size of its write-ahead log. */
  samples: { seconds: number; rssMb: number; walMb?: number }[];
}

/**
 * Sustained load: gRPC batches of 500 for `soakSeconds`, the corpus sent again and again under new
 * event ids (each round is new events, so the table grows as in production). The server's RSS is
 * sampled every 10 s: flat memory means the last minute's peak is near the second minute's. On the
 * embedded store (a fresh data directory) the write-ahead log's size is sampled too.
 */
export async function soakPart(
  ctx: BenchContext,
  corpus: IngestCorpus,
  store: "postgres" | "embedded",
): Promise<SoakResult> {
  const { o, db } = ctx;
  const dataDir = store === "embedded" ? join(ctx.tmp, "pglite-soak") : undefined;
  if (!dataDir) await db.emptyIngested();
  const [label, logName] = dataDir ? ["embedded soak", "embedded-soak"] : ["soak", "soak"];
  const server = await startServer(ctx, logName, dataDir ? { dataDir } : { databaseUrl: db.url });
  const samples: SoakResult["samples"] = [];
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  const sample = () =>
    samples.push({
      seconds: round(elapsed()),
      rssMb: mib(processMemory(server.pid).rssBytes),
      ...(dataDir && { walMb: mib(walBytes(dataDir)) }),
    });
  const timer = setInterval(sample, 10_000);
  let sent = 0;
  try {
    for (let pass = 0; elapsed() < o.soakSeconds; pass++) {
      const renamed = corpus.events.map((e) => ({ ...e, eventId: `${e.eventId}-soak${pass}` }));
      const totals = await runGrpcBatches(
        server.baseUrl,
        grpcBatches(renamed, o.grpcBatch, o.seed + pass),
        o.grpcConnections,
        o.grpcStreams,
      );
      sent += totals.events;
      const last = samples.at(-1);
      const wal = last?.walMb === undefined ? "" : `, write-ahead log ${last.walMb} MiB`;
      log(`${label}: ${thousands(sent)} events in ${round(elapsed())} s; server RSS ${last?.rssMb ?? "-"} MiB${wal}`);
    }
  } finally {
    clearInterval(timer);
    sample();
    await server.stop();
  }
  const seconds = elapsed();
  const peakBetween = (from: number, to: number) =>
    Math.max(...samples.filter((x) => x.seconds >= from && x.seconds <= to).map((x) => x.rssMb), 0);
  return {
    store,
    seconds: round(seconds),
    events: sent,
    eventsPerSec: round(sent / seconds),
    secondMinutePeakRssMb: peakBetween(60, 120),
    lastMinutePeakRssMb: peakBetween(seconds - 60, seconds),
    samples,
  };
}

/**
 * The bytes in the write-ahead log's segment files (not its archive status or temporary files). A
 * checkpoint may rename or remove a segment between the listing and its size: it counts nothing.
 */
function walBytes(dataDir: string): number {
  const wal = join(dataDir, "pg_wal");
  return readdirSync(wal)
    .filter((name) => /^[0-9A-F]{24}$/.test(name))
    .reduce((n, name) => n + (statSync(join(wal, name), { throwIfNoEntry: false })?.size ?? 0), 0);
}
