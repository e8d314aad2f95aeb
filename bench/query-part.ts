import type { Event } from "../gen/chaukas/spec/common/v1/events_pb.ts";
import { BIG_TENANT, type CorpusOptions, DEFAULT_CORPUS, sessions } from "../kit/corpus.ts";
import { Random } from "../kit/random.ts";
import type { ServerProcess } from "../kit/server-process.ts";
import { integrateQueued } from "../src/core/audit/audit-trail.ts";
import { toEventRecord } from "../src/core/event-record.ts";
import type { EventRecord } from "../src/store/event-store.ts";
import { openDatabase } from "../src/store/sql/open-store.ts";
import { type BenchContext, startServer } from "./context.ts";
import { copyChunk, encodeCopy, prepareCopyConnection } from "./copy.ts";
import { measureDashboard } from "./dashboard.ts";
import { QUIET_LOG } from "./database.ts";
import { log, progress } from "./log.ts";
import { type Collections, collectionsBetween, processCpuSeconds, processMemory, serverCollections } from "./meters.ts";
import type { Options } from "./options.ts";
import { measureQueries, type QueryOptions, type QueryResult, type QueryTargets } from "./queries.ts";
import { mib, round, thousands } from "./stats.ts";

export interface QueryReport {
  events: number;
  pageSize: number;
  /** Seconds the COPY load took; absent when a kept database was reused. */
  loadSeconds?: number;
  tenant: string;
  tenantEvents: number;
  peakRssMb: number;
  results: Record<string, QueryResult>;
  /** The server's garbage collections by kind over the measured queries, stats and session views (not the dashboard's first views). */
  collections?: Record<string, Collections>;
}

/**
 * Queries and stats over `o.queryEvents` events: loaded with COPY (or a database kept earlier,
 * `--reuse-db`), then asked by a server of their own.
 */
export async function queryPart(ctx: BenchContext): Promise<QueryReport> {
  const { o, db } = ctx;
  let loaded: { targets: QueryTargets; seconds?: number };
  if (o.reuseDb) {
    log(`query corpus: reusing ${db.name}, as loaded with --events ${o.queryEvents} --seed ${o.seed}`);
    loaded = { targets: reusedTargets(o) };
  } else {
    await db.emptyIngested();
    log(
      `query corpus: loading ${thousands(o.queryEvents)} events with COPY (same mapping, the real table and indexes)`,
    );
    loaded = await loadForQueries(ctx);
  }
  const { targets, seconds } = loaded;
  const server = await startServer(ctx, "query", { databaseUrl: db.url });
  return askQueries(
    o,
    server,
    targets,
    seconds,
    async (results) => Object.assign(results, await measureDashboard(server.baseUrl, targets, o.tiny ? 1 : 10)),
    () => db.backendCpu(),
  );
}

/**
 * The queries asked of `server` (stopped after), `more` adding to their results, as a report of
 * `o.queryEvents` events loaded in `loadSeconds`; `backends` reads its PostgreSQL backends' CPU.
 */
export async function askQueries(
  o: Options,
  server: ServerProcess,
  targets: QueryTargets,
  loadSeconds: number | undefined,
  more: (results: Record<string, QueryResult>) => Promise<unknown> = async () => {},
  backends?: () => Promise<Map<number, number>>,
): Promise<QueryReport> {
  try {
    const before = await serverCollections(server.baseUrl);
    const cpu = { server: () => processCpuSeconds(server.pid), backends };
    const results = await measureQueries(server.baseUrl, targets, queryOptions(o), cpu);
    const collections = collectionsBetween(before, await serverCollections(server.baseUrl));
    await more(results);
    return {
      events: o.queryEvents,
      pageSize: o.deepPageSize,
      loadSeconds,
      tenant: targets.tenantId,
      tenantEvents: targets.tenantEvents,
      peakRssMb: mib(processMemory(server.pid).peakRssBytes),
      results,
      collections,
    };
  } finally {
    await server.stop();
  }
}

/** How many times, and how, each query is asked. */
function queryOptions(o: Options): QueryOptions {
  return {
    iterations: o.iterations,
    minIterations: o.tiny ? 1 : 20,
    budgetMs: o.tiny ? 0 : 8_000,
    pages: o.pages,
    pageSize: o.deepPageSize,
    commonWord: "refund",
  };
}

/**
 * The query corpus's sessions (the first `o.queryEvents` events), and what the queries aim at:
 * a sample of the biggest tenant's sessions, traces and order ids, the same for the same seed.
 */
export function* queryCorpus(o: Options, targets: QueryTargets): Generator<Event[]> {
  const corpus: CorpusOptions = { ...DEFAULT_CORPUS, seed: o.seed, expectedEvents: o.queryEvents };
  const sample = new Random(o.seed + 1000);
  const keep = <T>(into: T[], item: T, seen: number, max: number) => {
    if (into.length < max) into.push(item);
    else if (sample.int(seen) < max) into[sample.int(max)] = item;
  };
  let taken = 0;
  let sessionsSeen = 0;
  let orderIdsSeen = 0;
  for (const session of sessions(corpus)) {
    const events = session.events.slice(0, o.queryEvents - taken);
    taken += events.length;
    const last = events.at(-1)?.timestamp;
    if (last) targets.endMs = Math.max(targets.endMs, Number(last.seconds) * 1000 + 1);
    if (session.tenantId === BIG_TENANT) {
      targets.tenantEvents += events.length;
      keep(targets.sessions, { sessionId: session.sessionId, traceIds: session.traceIds }, ++sessionsSeen, 2000);
      for (const id of session.orderIds) keep(targets.orderIds, id, ++orderIdsSeen, 2000);
    }
    yield events;
    if (taken >= o.queryEvents) return;
  }
}

export function emptyTargets(): QueryTargets {
  return {
    tenantId: BIG_TENANT,
    tenantEvents: 0,
    sessions: [],
    orderIds: [],
    startMs: DEFAULT_CORPUS.startMs,
    endMs: DEFAULT_CORPUS.startMs,
  };
}

/** What the queries aim at in a database loaded earlier with the same --events and --seed. */
function reusedTargets(o: Options): QueryTargets {
  const targets = emptyTargets();
  for (const _ of queryCorpus(o, targets));
  return targets;
}

/** Loads the query corpus into `events` with COPY; returns what the queries will aim at. */
async function loadForQueries({ o, db }: BenchContext): Promise<{ targets: QueryTargets; seconds: number }> {
  const targets = emptyTargets();
  const client = await db.connect();
  await prepareCopyConnection(client);
  // The server's own drain of the ingest queue rolls each chunk up for GetEventStats and appends it
  // to the audit log, as at ingest, so the queries join the log's entries as a deployed server's do.
  const store = await openDatabase({ kind: "postgres", databaseUrl: db.url, poolSize: 1 }, QUIET_LOG);
  const t0 = performance.now();
  let loaded = 0;
  let pending: Promise<void> = Promise.resolve();
  let batch: EventRecord[] = [];
  const report = progress("query corpus: loaded", o.queryEvents);
  const flush = async () => {
    const data = encodeCopy(batch, "queued");
    batch = [];
    await pending; // one chunk in flight while the next one is generated
    pending = copyChunk(client, { events: "events", ids: "event_ids" }, data, "queued").then(async () => {
      await integrateQueued(store.audit);
    });
  };
  try {
    for (const events of queryCorpus(o, targets)) {
      for (const event of events) batch.push(toEventRecord(event));
      loaded += events.length;
      if (batch.length >= o.copyChunk) {
        await flush();
        report(loaded);
      }
    }
    if (batch.length) await flush();
    await pending;
  } finally {
    await client.end();
    await store.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  const { rows } = await db.admin.query("SELECT coalesce(sum(size), 0)::int AS n FROM audit_heads");
  const logged: number = rows[0].n;
  if (logged !== loaded) throw new Error(`query corpus: ${logged} of ${loaded} events are in the audit log`);
  log(`query corpus: ${thousands(loaded)} events in ${seconds.toFixed(1)} s, each in its audit log; VACUUM ANALYZE`);
  // What autovacuum would have done on a server that received these events over time.
  await db.admin.query("VACUUM (ANALYZE)");
  return { targets, seconds: round(seconds, 1) };
}
