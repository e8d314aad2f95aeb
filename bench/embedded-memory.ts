import { setTimeout as sleep } from "node:timers/promises";
import { integrateQueued } from "../src/core/audit/audit-trail.ts";
import { toEventRecord } from "../src/core/event-record.ts";
import type { EventRecord } from "../src/store/event-store.ts";
import { openDatabase } from "../src/store/sql/open-store.ts";
import { ALL_TENANTS } from "../src/store/tenant-scope.ts";
import { type BenchContext, startServer } from "./context.ts";
import { QUIET_LOG } from "./database.ts";
import { log, progress } from "./log.ts";
import { processMemory } from "./meters.ts";
import { askQueries, emptyTargets, type QueryReport, queryCorpus } from "./query-part.ts";
import { mib, round, thousands } from "./stats.ts";

/** The embedded store's memory at start: the first (a fresh data directory) and a reopen. */
export interface EmbeddedStartMemory {
  /** Peak RSS (VmHWM) from the process's start until `restSeconds` after it listened. */
  firstStartPeakMb: number;
  /** RSS `restSeconds` after the server listened, idle. */
  firstStartRestMb: number;
  reopenPeakMb: number;
  reopenRestMb: number;
  restSeconds: number;
}

/** The most events the embedded queries are measured at: the embedded store is for small deployments. */
const EMBEDDED_QUERY_EVENTS = 300_000;
const BATCH = 500;
const INTEGRATE_EVERY = 5_000;

/**
 * A server on `dataDir` as a newcomer starts it, idle for a while (PGlite's WebAssembly is compiled
 * further in the background after the server listens), then stopped: its peak and resting RSS.
 */
export async function startMemory(
  ctx: BenchContext,
  name: string,
  dataDir: string,
): Promise<{ peakMb: number; restMb: number; restSeconds: number }> {
  const restSeconds = ctx.o.tiny ? 1 : 15;
  const server = await startServer(ctx, name, { dataDir });
  try {
    await sleep(restSeconds * 1000);
    const m = processMemory(server.pid);
    log(`${name}: peak RSS ${mib(m.peakRssBytes)} MiB, ${mib(m.rssBytes)} MiB after ${restSeconds} s idle`);
    return { peakMb: mib(m.peakRssBytes), restMb: mib(m.rssBytes), restSeconds };
  } finally {
    await server.stop();
  }
}

/**
 * The query part's queries on the embedded store, over the query corpus (at most 300,000 events)
 * written by the store's own insertEvents in batches of 500 and appended to the audit log, as
 * ingest does; no VACUUM ANALYZE (PGlite runs no autovacuum).
 */
export async function embeddedQueryPart(ctx: BenchContext, dataDir: string): Promise<QueryReport> {
  const o = { ...ctx.o, queryEvents: Math.min(ctx.o.queryEvents, EMBEDDED_QUERY_EVENTS) };
  const targets = emptyTargets();
  log(`embedded query corpus: writing ${thousands(o.queryEvents)} events with insertEvents`);
  const store = await openDatabase({ kind: "embedded", dataDir }, QUIET_LOG);
  const t0 = performance.now();
  const report = progress("embedded query corpus: written", o.queryEvents);
  let written = 0;
  let batch: EventRecord[] = [];
  try {
    for (const events of queryCorpus(o, targets)) {
      for (const event of events) {
        batch.push(toEventRecord(event));
        if (batch.length < BATCH) continue;
        await store.insertEvents(ALL_TENANTS, batch);
        written += batch.length;
        batch = [];
        if (written % INTEGRATE_EVERY === 0) await integrateQueued(store.audit);
        report(written);
      }
    }
    if (batch.length) await store.insertEvents(ALL_TENANTS, batch);
    await integrateQueued(store.audit);
  } finally {
    await store.close();
  }
  const seconds = round((performance.now() - t0) / 1000, 1);
  log(`embedded query corpus: ${thousands(o.queryEvents)} events in ${seconds} s`);
  return askQueries(o, await startServer(ctx, "embedded-query", { dataDir }), targets, seconds);
}
