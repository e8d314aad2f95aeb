import type { EventRecord } from "../src/store/event-store.ts";
import { openDatabase } from "../src/store/sql/open-store.ts";
import { ALL_TENANTS } from "../src/store/tenant-scope.ts";
import type { BenchContext } from "./context.ts";
import { type CopyMode, copyChunk, encodeCopy, prepareCopyConnection } from "./copy.ts";
import { cpuDelta, QUIET_LOG } from "./database.ts";
import type { IngestCorpus } from "./ingest-corpus.ts";
import { runConcurrently } from "./load.ts";
import { log } from "./log.ts";
import { CpuMeter } from "./meters.ts";
import { round, thousands } from "./stats.ts";

export interface CeilingResult {
  what: string;
  events: number;
  seconds: number;
  eventsPerSec: number;
  mbPerSec: number;
  postgresCpuSeconds: number;
  benchCpuSeconds: number;
  otherCpuSeconds: number;
}

export interface CeilingReport {
  /** The better of `staged1` and `staged2`: the ceiling the ingest runs are compared with. */
  eventsPerSec: number;
  staged1: CeilingResult;
  staged2: CeilingResult;
  raw: CeilingResult;
  serverSql: CeilingResult;
}

/** The COPY ceiling: the same records, written by PostgreSQL alone, into a copy of `events`. */
export async function ceilingPart(ctx: BenchContext, corpus: IngestCorpus): Promise<CeilingReport> {
  const { o, db } = ctx;
  const { records } = corpus;
  log("ceiling: COPY into scratch (LIKE events INCLUDING ALL) and scratch_ids (LIKE event_ids INCLUDING ALL)");
  await db.admin.query("CREATE TABLE scratch (LIKE events INCLUDING ALL)");
  await db.admin.query("CREATE TABLE scratch_ids (LIKE event_ids INCLUDING ALL)");
  const target = { events: "scratch", ids: "scratch_ids" };
  const run = async (what: string, mode: CopyMode, streams: number): Promise<CeilingResult> => {
    const chunks: Buffer[] = [];
    for (let i = 0; i < records.length; i += o.copyChunk) {
      chunks.push(encodeCopy(records.slice(i, i + o.copyChunk), mode));
    }
    await db.empty(["scratch", "scratch_ids"]);
    const clients = await Promise.all(Array.from({ length: streams }, () => db.connect()));
    try {
      for (const client of clients) await prepareCopyConnection(client);
      return await measureWrite(ctx, corpus, { what, table: "scratch" }, () =>
        inParallel(clients, chunks, (client, chunk) => copyChunk(client, target, chunk, mode)),
      );
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  };
  const staged1 = await run(
    `COPY binary into a staging table + INSERT ... SELECT to_tsvector ... ON CONFLICT DO NOTHING, ${o.copyChunk} rows per transaction, 1 connection`,
    "staged",
    1,
  );
  const staged2 = await run(`the same, 2 connections in parallel`, "staged", 2);
  const raw = await run(
    "COPY binary straight into the table, empty tsvector, no duplicate check, 2 connections (not like for like: shows what full text and ON CONFLICT cost)",
    "raw",
    2,
  );
  await db.admin.query("DROP TABLE scratch, scratch_ids");
  const serverSql = await serverSqlRun(ctx, corpus);
  const best = staged1.eventsPerSec >= staged2.eventsPerSec ? staged1 : staged2;
  return { eventsPerSec: best.eventsPerSec, staged1, staged2, raw, serverSql };
}

/**
 * The server's own SQL without the server: the store's insertEvents (one INSERT ... SELECT FROM
 * unnest(arrays) per batch, in a tenant-scoped transaction) called directly with batches of 500
 * records on 2 connections. Between the COPY ceiling and the gRPC figure, it tells the cost of
 * the statement's shape from the cost of HTTP, protobuf and validation.
 */
async function serverSqlRun(ctx: BenchContext, corpus: IngestCorpus): Promise<CeilingResult> {
  const { o, db } = ctx;
  const store = await openDatabase({ kind: "postgres", databaseUrl: db.url, poolSize: 2 }, QUIET_LOG);
  try {
    const batches: EventRecord[][] = [];
    for (let i = 0; i < corpus.records.length; i += o.grpcBatch) {
      batches.push(corpus.records.slice(i, i + o.grpcBatch));
    }
    await store.insertEvents(ALL_TENANTS, batches[0]); // warm-up: prepares the statement on one connection
    await db.emptyIngested();
    const result = await measureWrite(
      ctx,
      corpus,
      {
        what: `the server's INSERT ... SELECT FROM unnest(...) (store.insertEvents), batches of ${o.grpcBatch}, 2 connections, no server`,
        table: "events",
      },
      () => inParallel([0, 1], batches, (_, batch) => store.insertEvents(ALL_TENANTS, batch)),
    );
    await db.emptyIngested();
    return result;
  } finally {
    await store.close();
  }
}

/**
 * Times `work` writing the corpus into `table`, with the CPU PostgreSQL and everything else spent
 * meanwhile, and checks that every row arrived.
 */
async function measureWrite(
  { db }: BenchContext,
  corpus: IngestCorpus,
  { what, table }: { what: string; table: string },
  work: () => Promise<void>,
): Promise<CeilingResult> {
  const events = corpus.records.length;
  const pgBefore = await db.backendCpu();
  const cpu = new CpuMeter();
  const t0 = performance.now();
  await work();
  const seconds = (performance.now() - t0) / 1000;
  const postgresCpuSeconds = cpuDelta(pgBefore, await db.backendCpu());
  const others = cpu.finish(0, postgresCpuSeconds);
  const stored = await db.count(table);
  if (stored !== events) throw new Error(`${what}: ${stored} rows stored, ${events} written`);
  const result = {
    what,
    events,
    seconds: round(seconds, 2),
    eventsPerSec: round(events / seconds),
    mbPerSec: round(corpus.payloadBytes / 1024 / 1024 / seconds, 2),
    postgresCpuSeconds,
    ...others,
  };
  log(
    `ceiling: ${what}: ${thousands(result.eventsPerSec)} events/s; CPU s: postgres ${postgresCpuSeconds}, bench ${result.benchCpuSeconds}, others ${result.otherCpuSeconds} in ${result.seconds} s`,
  );
  return result;
}

/** Each worker takes the next item until none is left (runConcurrently, without its request figures). */
async function inParallel<W, T>(
  workers: readonly W[],
  items: readonly T[],
  each: (worker: W, item: T) => Promise<unknown>,
) {
  await runConcurrently(items.length, workers.length, async (i, w) => {
    await each(workers[w], items[i]);
    return { events: 0, bytes: 0 };
  });
}
