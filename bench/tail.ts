import { setTimeout as sleep } from "node:timers/promises";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import type { Event } from "../gen/chaukas/spec/common/v1/events_pb.ts";
import { ChaukasServerService } from "../gen/chaukas/spec/server/v1/server_pb.ts";
import { type BenchContext, startServer } from "./context.ts";
import { cpuDelta } from "./database.ts";
import type { IngestCorpus } from "./ingest-corpus.ts";
import { grpcBatches, runGrpcBatches } from "./load.ts";
import { log } from "./log.ts";
import { processCpuSeconds, processMinorFaults, serverStoreOperations } from "./meters.ts";
import { latency, round, thousands } from "./stats.ts";
import { sharedClockMs, TailClients } from "./tail-clients.ts";

export interface TailReport {
  tails: number;
  /** The tenant every tail follows: the corpus's biggest. */
  tenantEventsShare: number;
  /** gRPC batches of 500 as fast as the server takes them, without and with the tails open. */
  ingestWithoutTails: number;
  ingestWithTails: number;
  /**
   * The server's CPU per event ingested (µs), until the audit log has the run's events; with the
   * tails, also until every tail has received the run's events of its tenant, so the deliveries'
   * cost is counted too.
   */
  serverCpuUsPerEventWithoutTails?: number;
  serverCpuUsPerEventWithTails?: number;
  /**
   * Over the same windows, PostgreSQL's and the bench process's CPU per event (µs): the bench
   * process runs the load, and the tails' clients on a worker thread, on the same cores as the server.
   */
  postgresCpuUsPerEventWithoutTails?: number;
  postgresCpuUsPerEventWithTails?: number;
  benchCpuUsPerEventWithoutTails?: number;
  benchCpuUsPerEventWithTails?: number;
  /** Over the same windows, the server's minor page faults per event ingested (ADRs 0033, 0034). */
  serverFaultsPerEventWithoutTails?: number;
  serverFaultsPerEventWithTails?: number;
  /**
   * Over the run with tails (the CPU's window), the server's rounds of its tails' poller (each a
   * tailHorizon statement, as is opening a tail without a cursor, which the window leaves out) and
   * its reads of their new events (readTail statements).
   */
  tailRoundsWithTails?: number;
  tailReadsWithTails?: number;
  /** Streams the server ended itself (too slow) and calls that failed, over both runs with tails (each resumed at once from its cursor). */
  slowEnds: number;
  failures: number;
  paced: {
    /** Achieved: PACED_EVENTS_PER_SEC unless the server could not keep up. */
    eventsPerSec: number;
    seconds: number;
    /** (tail, event) deliveries timed, and those still missing when the run ended. */
    deliveries: number;
    missing: number;
    p50Ms: number;
    p99Ms: number;
    maxMs: number;
  };
}

/** Tails and paced seconds of a run (--tiny: 2 tails for 2 s, to check the part works). */
const TAILS = 10;
const TINY_TAILS = 2;
const PACED_EVENTS_PER_SEC = 1000;
const PACED_BATCH = 10;

/**
 * The live tail under ingest: 10 tails of the corpus's biggest tenant, each resuming from its
 * cursor whenever the server ends it. First ingest as fast as it goes, without then with the tails;
 * then a paced 1,000 events/s, timing each event from its batch's acknowledgement to its arrival
 * on every tail (an event can arrive before its acknowledgement: that counts as 0).
 */
export async function tailPart(ctx: BenchContext, corpus: IngestCorpus): Promise<TailReport> {
  const { o, db } = ctx;
  const tailCount = o.tiny ? TINY_TAILS : TAILS;
  const pacedSeconds = o.tiny ? 2 : 20;
  await db.emptyIngested();
  const server = await startServer(ctx, "tail", { databaseUrl: db.url }, ["--tail-heartbeat-ms", "500"]);
  const renamed = (pass: string) => corpus.events.map((e) => ({ ...e, eventId: `${e.eventId}-${pass}` }) as Event);
  /** CPU seconds so far of the server, PostgreSQL's backends and this process; the server's page faults. */
  const cpuNow = async () => {
    const self = process.cpuUsage();
    return {
      serverFaults: processMinorFaults(server.pid),
      server: processCpuSeconds(server.pid),
      postgres: await db.backendCpu(),
      bench: (self.user + self.system) / 1e6,
    };
  };
  /** Each one's CPU since `from`, in µs per event, and the server's page faults per event. */
  const perEvent = async (from: Awaited<ReturnType<typeof cpuNow>>, events: number) => {
    const to = await cpuNow();
    const us = (seconds: number) => round((seconds * 1e6) / events);
    return {
      server: us(to.server - from.server),
      postgres: us(cpuDelta(from.postgres, to.postgres)),
      bench: us(to.bench - from.bench),
      serverFaults: round((to.serverFaults - from.serverFaults) / events, 1),
    };
  };
  const flat = async (pass: string) => {
    const totals = await runGrpcBatches(
      server.baseUrl,
      grpcBatches(renamed(pass), o.grpcBatch, o.seed),
      o.grpcConnections,
      o.grpcStreams,
    );
    return { eventsPerSec: round(totals.events / totals.seconds), events: totals.events };
  };
  let tails: TailClients | undefined;
  try {
    await runGrpcBatches(
      server.baseUrl,
      grpcBatches(corpus.warm, o.grpcBatch, o.seed + 1),
      o.grpcConnections,
      o.grpcStreams,
    );
    log("tail: ingest without tails");
    let cpuFrom = await cpuNow();
    const without = await flat("t0");
    await db.auditCaughtUp("tail");
    const cpuWithout = await perEvent(cpuFrom, without.events);

    const tenant = biggestTenant(corpus.events);
    tails = await TailClients.open({ address: new URL(server.baseUrl).host, tenantId: tenant.id, count: tailCount });
    log(`tail: ingest with ${tailCount} tails of ${tenant.id}`);
    const tailOperations = () => serverStoreOperations(server.baseUrl, ["tailHorizon", "readTail"]);
    const operationsFrom = await tailOperations();
    cpuFrom = await cpuNow();
    const withTails = await flat("t1");
    // The paced run starts once every tail has caught up with this one.
    const t1 = [...tenant.ids].map((id) => `${id}-t1`);
    await tails.waitFor(t1, 60_000);
    await db.auditCaughtUp("tail");
    const cpuWith = await perEvent(cpuFrom, withTails.events);
    const operationsTo = await tailOperations();
    const tailRoundsWithTails = operationsTo.tailHorizon - operationsFrom.tailHorizon;
    const tailReadsWithTails = operationsTo.readTail - operationsFrom.readTail;
    const ingestWithoutTails = without.eventsPerSec;
    const ingestWithTails = withTails.eventsPerSec;

    log(`tail: ${PACED_EVENTS_PER_SEC} events/s for ${pacedSeconds} s with ${tailCount} tails`);
    await tails.clear();
    const { acked, eventsPerSec: pacedRate } = await pacedIngest(server.baseUrl, renamed("t2"), pacedSeconds);
    const expected = [...acked].filter(([id]) => tenant.ids.has(id.slice(0, id.lastIndexOf("-"))));
    // Let the last deliveries arrive (bounded: what is still missing is reported).
    const expectedIds = expected.map(([id]) => id);
    await tails.waitFor(expectedIds, 10_000);
    const samples: number[] = [];
    let missing = 0;
    for (const arrivals of await tails.arrivals(expectedIds)) {
      arrivals.forEach((at, i) => {
        if (at === undefined) missing++;
        else samples.push(Math.max(0, at - expected[i][1]));
      });
    }
    const { slowEnds, failures } = await tails.counts();
    const l = latency(samples);
    const report: TailReport = {
      tails: tailCount,
      tenantEventsShare: round(tenant.ids.size / corpus.events.length, 3),
      ingestWithoutTails,
      ingestWithTails,
      serverCpuUsPerEventWithoutTails: cpuWithout.server,
      serverCpuUsPerEventWithTails: cpuWith.server,
      postgresCpuUsPerEventWithoutTails: cpuWithout.postgres,
      postgresCpuUsPerEventWithTails: cpuWith.postgres,
      benchCpuUsPerEventWithoutTails: cpuWithout.bench,
      benchCpuUsPerEventWithTails: cpuWith.bench,
      serverFaultsPerEventWithoutTails: cpuWithout.serverFaults,
      serverFaultsPerEventWithTails: cpuWith.serverFaults,
      tailRoundsWithTails,
      tailReadsWithTails,
      slowEnds,
      failures,
      paced: {
        eventsPerSec: pacedRate,
        seconds: pacedSeconds,
        deliveries: samples.length,
        missing,
        p50Ms: l.p50Ms,
        p99Ms: l.p99Ms,
        maxMs: round(Math.max(0, ...samples), 1),
      },
    };
    log(
      `tail: ${thousands(ingestWithoutTails)} events/s without tails, ${thousands(ingestWithTails)} with (CPU µs per event without / with: server ${cpuWithout.server} / ${cpuWith.server}, PostgreSQL ${cpuWithout.postgres} / ${cpuWith.postgres}, bench with the tails' clients ${cpuWithout.bench} / ${cpuWith.bench}; server page faults per event ${cpuWithout.serverFaults} / ${cpuWith.serverFaults}; ${thousands(tailReadsWithTails)} tail reads in ${thousands(tailRoundsWithTails)} rounds); paced p99 ${l.p99Ms} ms over ${thousands(samples.length)} deliveries, ${missing} missing`,
    );
    return report;
  } finally {
    await tails?.close();
    await server.stop();
  }
}

/** The corpus's tenant with the most events, and its events' original ids. */
function biggestTenant(events: readonly Event[]): { id: string; ids: Set<string> } {
  const byTenant = new Map<string, Set<string>>();
  for (const e of events) byTenant.set(e.tenantId, (byTenant.get(e.tenantId) ?? new Set()).add(e.eventId));
  const [id, ids] = [...byTenant].reduce((a, b) => (b[1].size > a[1].size ? b : a));
  return { id, ids };
}

/** Most batches in flight: a server slower than the pace makes the pace slip, not the requests pile up. */
const MAX_IN_FLIGHT = 32;

/**
 * Sends batches of PACED_BATCH at PACED_EVENTS_PER_SEC for `seconds` (slower if the server cannot
 * keep up); returns each event's acknowledgement time and the rate achieved.
 */
async function pacedIngest(
  baseUrl: string,
  events: readonly Event[],
  seconds: number,
): Promise<{ acked: Map<string, number>; eventsPerSec: number }> {
  const client = createClient(ChaukasServerService, createGrpcTransport({ baseUrl }));
  const acked = new Map<string, number>();
  const batches = Math.min(Math.floor(events.length / PACED_BATCH), (seconds * PACED_EVENTS_PER_SEC) / PACED_BATCH);
  const intervalMs = (1000 * PACED_BATCH) / PACED_EVENTS_PER_SEC;
  const started = performance.now();
  const inFlight = new Set<Promise<void>>();
  for (let b = 0; b < batches; b++) {
    const due = started + b * intervalMs;
    if (due > performance.now()) await sleep(due - performance.now());
    while (inFlight.size >= MAX_IN_FLIGHT) await Promise.race(inFlight);
    const batch = events.slice(b * PACED_BATCH, (b + 1) * PACED_BATCH);
    const sent: Promise<void> = client.ingestEventBatch({ eventBatch: { events: batch } }).then(() => {
      const now = sharedClockMs();
      for (const e of batch) acked.set(e.eventId, now);
      inFlight.delete(sent);
    });
    inFlight.add(sent);
  }
  await Promise.all(inFlight);
  return { acked, eventsPerSec: round(acked.size / ((performance.now() - started) / 1000)) };
}
