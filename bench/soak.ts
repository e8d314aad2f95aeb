import { type BenchContext, startServer } from "./context.ts";
import type { IngestCorpus } from "./ingest-corpus.ts";
import { grpcBatches, runGrpcBatches } from "./load.ts";
import { log } from "./log.ts";
import { processMemory } from "./meters.ts";
import { mib, round, thousands } from "./stats.ts";

export interface SoakResult {
  seconds: number;
  events: number;
  eventsPerSec: number;
  secondMinutePeakRssMb: number;
  lastMinutePeakRssMb: number;
  /** The server's RSS every 10 s. */
  samples: { seconds: number; rssMb: number }[];
}

/**
 * Sustained load: gRPC batches of 500 for `soakSeconds`, the corpus sent again and again under new
 * event ids (each round is new events, so the table grows as in production). The server's RSS is
 * sampled every 10 s: flat memory means the last minute's peak is near the second minute's.
 */
export async function soakPart(ctx: BenchContext, corpus: IngestCorpus): Promise<SoakResult> {
  const { o, db } = ctx;
  await db.emptyIngested();
  const server = await startServer(ctx, "soak", { databaseUrl: db.url });
  const samples: SoakResult["samples"] = [];
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  const sample = () => samples.push({ seconds: round(elapsed()), rssMb: mib(processMemory(server.pid).rssBytes) });
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
      log(`soak: ${thousands(sent)} events in ${round(elapsed())} s; server RSS ${samples.at(-1)?.rssMb ?? "-"} MiB`);
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
    seconds: round(seconds),
    events: sent,
    eventsPerSec: round(sent / seconds),
    secondMinutePeakRssMb: peakBetween(60, 120),
    lastMinutePeakRssMb: peakBetween(seconds - 60, seconds),
    samples,
  };
}
