import { create, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { EventType } from "../gen/chaukas/spec/common/v1/events_pb.ts";
import {
  type QueryRequestSchema,
  QueryResponseSchema,
  SortOrder,
  type TimeRangeSchema,
} from "../gen/chaukas/spec/common/v1/query_pb.ts";
import { ChaukasServerService, QueryEventsResponseSchema } from "../gen/chaukas/spec/server/v1/server_pb.ts";
import { Random } from "../kit/random.ts";
import { cpuDelta } from "./database.ts";
import { GrpcConnections } from "./load.ts";
import { log } from "./log.ts";
import { grpcFrame, RawGrpcConnection } from "./raw-grpc.ts";
import { measureSessionViews } from "./session-views.ts";
import { type Latency, latency, percentile } from "./stats.ts";

/** What the loader kept of the corpus to aim queries at: the biggest tenant's sessions and words. */
export interface QueryTargets {
  tenantId: string;
  tenantEvents: number;
  sessions: { sessionId: string; traceIds: string[] }[];
  orderIds: string[];
  /** The corpus's time span. */
  startMs: number;
  endMs: number;
}

export interface QueryResult extends Latency {
  /** Events the median call returned. */
  rowsP50: number;
  what: string;
  /**
   * CPU per call in µs of the server process, and of its PostgreSQL backends (absent for the
   * embedded store); /proc counts in 10 ms ticks, so 50 µs is the resolution over 200 calls.
   */
  serverCpuUsPerCall?: number;
  postgresCpuUsPerCall?: number;
}

/** Where the CPU a call costs is read: the server process's, and its PostgreSQL backends' if it has any. */
export interface CpuReadings {
  /** CPU seconds the server process has used so far. */
  server(): number;
  /** CPU seconds so far per backend pid (bench/database.ts's backendCpu). */
  backends?(): Promise<Map<number, number>>;
}

export interface QueryOptions {
  /** Calls per kind of query: at most `iterations`, fewer once `budgetMs` is spent (never under `minIterations`). */
  iterations: number;
  minIterations: number;
  budgetMs: number;
  pages: number;
  pageSize: number;
  /** A word present in many events (given to text_query). */
  commonWord: string;
}

type QueryInit = MessageInitShape<typeof QueryRequestSchema>;
type TimeRangeInit = MessageInitShape<typeof TimeRangeSchema>;
const DAY_MS = 86_400_000;
const QUERY = ChaukasServerService.method.queryEvents;
const STATS = ChaukasServerService.method.getEventStats;

/** A QueryEvents answer's events counted, not decoded, and its next page token. */
function readPage(answer: Uint8Array): { events: number; nextPageToken: string } {
  let events = 0;
  let nextPageToken = "";
  const outer = new BinaryReader(answer);
  while (outer.pos < outer.len) {
    const [field, wireType] = outer.tag();
    if (field !== QueryEventsResponseSchema.field.response.number || wireType !== WireType.LengthDelimited) {
      outer.skip(wireType, field);
      continue;
    }
    const page = new BinaryReader(outer.bytes());
    while (page.pos < page.len) {
      const [f, w] = page.tag();
      if (f === QueryResponseSchema.field.nextPageToken.number && w === WireType.LengthDelimited)
        nextPageToken = page.string();
      else {
        page.skip(w, f);
        if (f === QueryResponseSchema.field.events.number) events++;
      }
    }
  }
  return { events, nextPageToken };
}

/**
 * Measures queries and stats through the server's gRPC API, one call at a time on one HTTP/2
 * connection, so each figure is the latency of a call on an otherwise idle server. The client is
 * the raw one of the ingest load, accepting gzip and sending requests uncompressed as grpc-js does
 * (so it is answered uncompressed, ADR 0035): it counts a page's events without decoding them, so
 * its CPU (on the cores the server and PostgreSQL share) stays out of the figures. One reference
 * row times the same session timelines through connect-es, decoded.
 */
export async function measureQueries(
  baseUrl: string,
  targets: QueryTargets,
  options: QueryOptions,
  cpu: CpuReadings,
): Promise<Record<string, QueryResult>> {
  const raw = new RawGrpcConnection(baseUrl, { acceptGzip: true });
  const grpc = new GrpcConnections(baseUrl, 1);
  const random = new Random(7);
  const tenantId = targets.tenantId;
  const ts = (ms: number) => ({ seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 });
  const randomWindow = (lengthMs: number): TimeRangeInit => {
    const span = Math.max(0, targets.endMs - targets.startMs - lengthMs);
    const start = targets.startMs + Math.floor(random.next() * span);
    return { start: ts(start), end: ts(start + lengthMs) };
  };

  const spent = (started: number, done: number) =>
    done >= options.minIterations && performance.now() - started > options.budgetMs;
  type Call = (q: QueryInit) => Promise<{ ms: number; rows: number; next: string }>;
  const query: Call = async (q) => {
    const request = grpcFrame(toBinary(QUERY.input, create(QUERY.input, { query: q })));
    const t0 = performance.now();
    const page = readPage(await raw.call(QUERY, request));
    return { ms: performance.now() - t0, rows: page.events, next: page.nextPageToken };
  };
  const decodedQuery: Call = async (q) => {
    const t0 = performance.now();
    const { response } = await grpc.clients[0].queryEvents({ query: q });
    return { ms: performance.now() - t0, rows: response?.events.length ?? 0, next: response?.nextPageToken ?? "" };
  };
  const run = async (what: string, iterations: number, make: (i: number) => QueryInit, call = query) => {
    const ms: number[] = [];
    const rows: number[] = [];
    const started = performance.now();
    for (let i = 0; i < iterations && !spent(started, i); i++) {
      const r = await call(make(i));
      ms.push(r.ms);
      rows.push(r.rows);
    }
    const result: QueryResult = { ...latency(ms), rowsP50: percentile(rows, 50), what };
    return { result, rows };
  };
  /** `measured`'s result, with what its calls cost the server and PostgreSQL in CPU. */
  const costed = async (measured: () => Promise<QueryResult>): Promise<QueryResult> => {
    const server0 = cpu.server();
    const backends0 = await cpu.backends?.();
    const result = await measured();
    const perCall = (seconds: number) => Math.round((seconds * 1e6) / Math.max(1, result.count));
    result.serverCpuUsPerCall = perCall(cpu.server() - server0);
    const backends1 = await cpu.backends?.();
    if (backends0 && backends1) result.postgresCpuUsPerCall = perCall(cpuDelta(backends0, backends1));
    return result;
  };
  const measure = async (what: string, iterations: number, make: () => QueryInit) =>
    costed(async () => (await run(what, iterations, make)).result);
  const stats = async (what: string, window: () => TimeRangeInit | undefined) => {
    const ms: number[] = [];
    const totals: number[] = [];
    const started = performance.now();
    for (let i = 0; i < options.iterations && !spent(started, i); i++) {
      const request = grpcFrame(toBinary(STATS.input, create(STATS.input, { tenantId, timeRange: window() })));
      const t0 = performance.now();
      const r = fromBinary(STATS.output, await raw.call(STATS, request));
      ms.push(performance.now() - t0);
      totals.push(Number(r.totalEvents));
    }
    return { ...latency(ms), rowsP50: percentile(totals, 50), what };
  };

  const session = () => random.pick(targets.sessions);
  const results: Record<string, QueryResult> = {};
  try {
    // Warm-up: the server's JIT and PostgreSQL's caches, as on a server that has been running.
    for (let i = 0; i < 20; i++) await query({ filter: { tenantId, sessionId: session().sessionId }, pageSize: 1000 });

    log("queries: session timelines");
    const timelines: QueryInit[] = [];
    let timelineRows: number[] = [];
    results.sessionTimeline = await costed(async () => {
      const timeline = await run("one session's events, oldest first (page_size 1000)", options.iterations, () => {
        timelines.push({
          filter: { tenantId, sessionId: session().sessionId },
          pageSize: 1000,
          orderByTime: SortOrder.ASC,
        });
        return timelines[timelines.length - 1];
      });
      timelineRows = timeline.rows;
      return timeline.result;
    });
    const decoded = await run(
      "the same timelines through connect-es, every event decoded (reference, not a target)",
      timelines.length,
      (i) => timelines[i],
      decodedQuery,
    );
    // The raw client counts what connect-es decodes, or its figures measure the wrong thing.
    decoded.rows.forEach((n, i) => {
      if (n !== timelineRows[i]) throw new Error(`timeline ${i}: ${timelineRows[i]} events counted, ${n} decoded`);
    });
    results.sessionTimelineDecoded = decoded.result;
    log("queries: traces");
    results.trace = await measure("one trace's events, oldest first (page_size 1000)", options.iterations, () => ({
      filter: { tenantId, traceId: random.pick(session().traceIds) },
      pageSize: 1000,
      orderByTime: SortOrder.ASC,
    }));
    log("queries: type + time range");
    results.typeAndTime = await measure(
      "TOOL_CALL_END events in a random day, newest first (page_size 100)",
      options.iterations,
      () => ({ filter: { tenantId, types: [EventType.TOOL_CALL_END], time: randomWindow(DAY_MS) }, pageSize: 100 }),
    );
    log("queries: text search");
    results.textRare = await measure(
      "text_query: an order id (a handful of matches), newest first (page_size 100)",
      options.iterations,
      () => ({ filter: { tenantId, textQuery: random.pick(targets.orderIds) }, pageSize: 100 }),
    );
    results.textCommon = await measure(
      `text_query "${options.commonWord}" (many matches), newest first (page_size 100)`,
      options.iterations,
      () => ({ filter: { tenantId, textQuery: options.commonWord }, pageSize: 100 }),
    );

    log(`queries: walking ${options.pages} pages of ${tenantId}'s stream`);
    results.deepPage = await costed(async () => {
      const pageMs: number[] = [];
      let token = "";
      let lastPageMs = 0;
      for (let page = 1; page <= options.pages; page++) {
        const r = await query({ filter: { tenantId }, pageSize: options.pageSize, pageToken: token });
        pageMs.push(r.ms);
        lastPageMs = r.ms;
        token = r.next;
        if (!token) break;
      }
      return {
        ...latency(pageMs),
        rowsP50: options.pageSize,
        what: `${tenantId}'s stream, newest first, following page tokens to page ${pageMs.length} (page_size ${options.pageSize}); last page ${lastPageMs.toFixed(1)} ms`,
      };
    });

    log("stats: a day, a month, all time");
    results.statsDay = await costed(() => stats("GetEventStats over a random day", () => randomWindow(DAY_MS)));
    results.statsMonth = await costed(() =>
      stats("GetEventStats over a random 30 days", () => randomWindow(30 * DAY_MS)),
    );
    results.statsAll = await costed(() => stats("GetEventStats over all time", () => undefined));

    Object.assign(
      results,
      await measureSessionViews({
        baseUrl,
        tenantId,
        iterations: options.iterations,
        spent,
        randomWindow,
        wholeCorpus: { start: ts(targets.startMs), end: ts(targets.endMs) },
        commonWord: options.commonWord,
      }),
    );
  } finally {
    raw.close();
    grpc.close();
  }
  return results;
}
