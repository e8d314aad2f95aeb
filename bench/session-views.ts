import type { MessageInitShape } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { SessionService } from "../gen/chaukas/backend/v1/sessions_pb.ts";
import { Severity } from "../gen/chaukas/spec/common/v1/events_pb.ts";
import type { TimeRangeSchema } from "../gen/chaukas/spec/common/v1/query_pb.ts";
import { log } from "./log.ts";
import type { QueryResult } from "./queries.ts";
import { type Latency, latency, percentile } from "./stats.ts";

/** The dashboard's calls (SessionService) as a browser makes them: Connect JSON, one at a time. */

export const SESSION_VIEWS: Record<string, string> = {
  sessionsFirstPage: "dashboard: ListSessions, newest 50",
  sessionsDay: "dashboard: ListSessions, one day",
  sessionsErrors: "dashboard: ListSessions, severity ERROR",
  sessionsText: "dashboard: ListSessions, common word",
  usageDay: "dashboard: GetUsage, one day",
  usageMonth: "dashboard: GetUsage, 30 days",
  usageAll: "dashboard: GetUsage, the whole corpus",
};

type TimeRangeInit = MessageInitShape<typeof TimeRangeSchema>;

export interface SessionViewsSetup {
  baseUrl: string;
  tenantId: string;
  iterations: number;
  spent: (started: number, done: number) => boolean;
  randomWindow: (lengthMs: number) => TimeRangeInit;
  wholeCorpus: TimeRangeInit;
  commonWord: string;
}

const DAY_MS = 86_400_000;

export async function measureSessionViews(s: SessionViewsSetup): Promise<Record<string, QueryResult>> {
  const client = createClient(SessionService, createConnectTransport({ baseUrl: s.baseUrl, httpVersion: "1.1" }));
  const tenantId = s.tenantId;
  const run = async (what: string, call: () => Promise<number>): Promise<QueryResult> => {
    const ms: number[] = [];
    const rows: number[] = [];
    const started = performance.now();
    for (let i = 0; i < s.iterations && !s.spent(started, i); i++) {
      const t0 = performance.now();
      rows.push(await call());
      ms.push(performance.now() - t0);
    }
    const result: Latency = latency(ms);
    return { ...result, rowsP50: percentile(rows, 50), what };
  };
  const list = (filter: MessageInitShape<typeof SessionService.method.listSessions.input>["filter"]) => async () =>
    (await client.listSessions({ filter: { tenantId, ...filter }, pageSize: 50 })).sessions.length;
  const usage = (timeRange: () => TimeRangeInit) => async () =>
    Number((await client.getUsage({ tenantId, timeRange: timeRange() })).totalEvents);

  for (let i = 0; i < 20; i++) await list({})(); // warm-up
  log("dashboard: ListSessions and GetUsage over Connect JSON");
  return {
    sessionsFirstPage: await run("ListSessions: the newest 50 sessions (sessions listed)", list({})),
    sessionsDay: await run("ListSessions: 50 sessions started in a random day (sessions listed)", async () =>
      list({ time: s.randomWindow(DAY_MS) })(),
    ),
    sessionsErrors: await run(
      "ListSessions: the newest 50 with a severity ERROR event (sessions listed)",
      list({ severities: [Severity.ERROR] }),
    ),
    sessionsText: await run(
      `ListSessions: the newest 50 with text_query "${s.commonWord}" (sessions listed)`,
      list({ textQuery: s.commonWord }),
    ),
    usageDay: await run(
      "GetUsage: a random day, 48 buckets (events counted)",
      usage(() => s.randomWindow(DAY_MS)),
    ),
    usageMonth: await run(
      "GetUsage: a random 30 days, 60 buckets (events counted)",
      usage(() => s.randomWindow(30 * DAY_MS)),
    ),
    usageAll: await run(
      "GetUsage: the whole corpus (events counted)",
      usage(() => s.wholeCorpus),
    ),
  };
}
