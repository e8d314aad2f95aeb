import type { MessageInitShape } from "@bufbuild/protobuf";
import { EventType } from "../gen/chaukas/spec/common/v1/events_pb.ts";
import { type QueryRequestSchema, SortOrder, type TimeRangeSchema } from "../gen/chaukas/spec/common/v1/query_pb.ts";
import { Random } from "./corpus.ts";
import { GrpcConnections } from "./load.ts";
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
}

export interface QueryOptions {
  /** Calls per kind of query: at most `iterations`, fewer once `budgetMs` is spent (never under `minIterations`). */
  iterations: number;
  minIterations: number;
  budgetMs: number;
  statsIterations: number;
  pages: number;
  pageSize: number;
  /** A word present in many events (given to text_query). */
  commonWord: string;
}

type QueryInit = MessageInitShape<typeof QueryRequestSchema>;
type TimeRangeInit = MessageInitShape<typeof TimeRangeSchema>;
const DAY_MS = 86_400_000;

/**
 * Measures queries and stats through the server's gRPC API, one call at a time on one HTTP/2
 * connection, so each figure is the latency of a call on an otherwise idle server.
 */
export async function measureQueries(
  baseUrl: string,
  targets: QueryTargets,
  options: QueryOptions,
  log: (line: string) => void,
): Promise<Record<string, QueryResult>> {
  const grpc = new GrpcConnections(baseUrl, 1);
  const client = grpc.clients[0];
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
  const query = async (q: QueryInit) => {
    const t0 = performance.now();
    const { response } = await client.queryEvents({ query: q });
    return { ms: performance.now() - t0, rows: response?.events.length ?? 0, next: response?.nextPageToken ?? "" };
  };
  const run = async (what: string, iterations: number, make: () => QueryInit): Promise<QueryResult> => {
    const ms: number[] = [];
    const rows: number[] = [];
    const started = performance.now();
    for (let i = 0; i < iterations && !spent(started, i); i++) {
      const r = await query(make());
      ms.push(r.ms);
      rows.push(r.rows);
    }
    return { ...latency(ms), rowsP50: percentile(rows, 50), what };
  };
  const stats = async (what: string, window: () => TimeRangeInit | undefined) => {
    const ms: number[] = [];
    const totals: number[] = [];
    const started = performance.now();
    for (let i = 0; i < options.statsIterations && !spent(started, i); i++) {
      const t0 = performance.now();
      const r = await client.getEventStats({ tenantId, timeRange: window() });
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
    results.sessionTimeline = await run(
      "one session's events, oldest first (page_size 1000)",
      options.iterations,
      () => ({ filter: { tenantId, sessionId: session().sessionId }, pageSize: 1000, orderByTime: SortOrder.ASC }),
    );
    log("queries: traces");
    results.trace = await run("one trace's events, oldest first (page_size 1000)", options.iterations, () => ({
      filter: { tenantId, traceId: random.pick(session().traceIds) },
      pageSize: 1000,
      orderByTime: SortOrder.ASC,
    }));
    log("queries: type + time range");
    results.typeAndTime = await run(
      "TOOL_CALL_END events in a random day, newest first (page_size 100)",
      options.iterations,
      () => ({ filter: { tenantId, types: [EventType.TOOL_CALL_END], time: randomWindow(DAY_MS) }, pageSize: 100 }),
    );
    log("queries: text search");
    results.textRare = await run(
      "text_query: an order id (a handful of matches), newest first (page_size 100)",
      options.iterations,
      () => ({ filter: { tenantId, textQuery: random.pick(targets.orderIds) }, pageSize: 100 }),
    );
    results.textCommon = await run(
      `text_query "${options.commonWord}" (many matches), newest first (page_size 100)`,
      options.iterations,
      () => ({ filter: { tenantId, textQuery: options.commonWord }, pageSize: 100 }),
    );

    log(`queries: walking ${options.pages} pages of ${tenantId}'s stream`);
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
    results.deepPage = {
      ...latency(pageMs),
      rowsP50: options.pageSize,
      what: `${tenantId}'s stream, newest first, following page tokens to page ${pageMs.length} (page_size ${options.pageSize}); last page ${lastPageMs.toFixed(1)} ms`,
    };

    log("stats: a day, a month, all time");
    results.statsDay = await stats("GetEventStats over a random day", () => randomWindow(DAY_MS));
    results.statsMonth = await stats("GetEventStats over a random 30 days", () => randomWindow(30 * DAY_MS));
    results.statsAll = await stats("GetEventStats over all time", () => undefined);
  } finally {
    grpc.close();
  }
  return results;
}
