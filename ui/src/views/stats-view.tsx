import { Code, ConnectError } from "@connectrpc/connect";
import { useEffect, useState } from "preact/hooks";
import type { GetUsageResponse, UsageBucket, UsageByKey } from "../../../gen/chaukas/backend/v1/sessions_pb.ts";
import { type Api, errorText, isUnauthenticated } from "../api.ts";
import { BarList, TimeChart } from "../components/charts.tsx";
import { filtersOf, paramsOf, RANGES, timeRangeOf } from "../filters.ts";
import { count, millisOf, money } from "../format.ts";
import { navigate, urlOf } from "../router.ts";

type Usage = Pick<
  GetUsageResponse,
  "overTime" | "eventsByType" | "byModel" | "byAgent" | "totalEvents" | "totalSessions" | "errors"
>;

/**
 * Statistics of a time range: events by type and over time, tokens and cost by model and agent,
 * the error rate. From SessionService.GetUsage; a server without it still gives GetEventStats' part.
 */
export function StatsView({
  api,
  params,
  onAuthFailed,
}: {
  api: Api;
  params: URLSearchParams;
  onAuthFailed: () => void;
}) {
  const filters = filtersOf(params);
  const [usage, setUsage] = useState<Usage>();
  const [state, setState] = useState<{ loading: boolean; error?: string; partial?: boolean }>({ loading: true });

  useEffect(() => {
    let current = true;
    setState({ loading: true });
    const request = { tenantId: filters.tenant, projectId: filters.project, timeRange: timeRangeOf(filters.range) };
    api.sessions
      .getUsage(request)
      .then((answer): [Usage, boolean] => [answer, false])
      .catch(async (err): Promise<[Usage, boolean]> => {
        if (ConnectError.from(err).code !== Code.Unimplemented) throw err;
        const stats = await api.events.getEventStats(request);
        return [{ ...stats, overTime: [], byModel: [], byAgent: [], errors: 0n }, true];
      })
      .then(([answer, partial]) => {
        if (!current) return;
        setUsage(answer);
        setState({ loading: false, partial });
      })
      .catch((err) => {
        if (!current) return;
        if (isUnauthenticated(err)) onAuthFailed();
        setState({ loading: false, error: errorText(err) });
      });
    return () => {
      current = false;
    };
  }, [api, params.toString()]);

  const setRange = (range: string) =>
    navigate(urlOf("/stats", { ...paramsOf({ ...filters, range }) }), { replace: true });
  const total = Number(usage?.totalEvents ?? 0);
  const errorRate = total ? (Number(usage?.errors ?? 0) / total) * 100 : 0;
  const byType = Object.entries(usage?.eventsByType ?? {})
    .map(([type, n]) => {
      const label = type.replace(/^EVENT_TYPE_/, "");
      return { label, value: Number(n), text: count(n), danger: label === "ERROR" };
    })
    .sort((a, b) => b.value - a.value);
  const keyBars = (rows: UsageByKey[], pick: (row: UsageByKey) => number, text: (n: number) => string) =>
    rows
      .map((row) => ({ label: row.key || "(none)", value: pick(row), text: text(pick(row)) }))
      .sort((a, b) => b.value - a.value);

  return (
    <section class="view">
      <div class="view-head">
        <h1>Statistics</h1>
        <div class="segmented" role="group" aria-label="Time range">
          {Object.entries(RANGES).map(([value, { label }]) => (
            <button key={value} type="button" aria-pressed={filters.range === value} onClick={() => setRange(value)}>
              {label}
            </button>
          ))}
        </div>
      </div>
      {state.error ? (
        <p class="error banner" role="alert">
          {state.error}
        </p>
      ) : null}
      {state.partial ? (
        <p class="banner">This server has no SessionService.GetUsage: showing event counts only.</p>
      ) : null}
      <div class="tiles">
        <Tile name="Events" value={count(total)} />
        <Tile name="Sessions" value={count(usage?.totalSessions ?? 0)} />
        <Tile
          name="Failures"
          title={FAILURES}
          value={count(usage?.errors ?? 0)}
          danger={Number(usage?.errors ?? 0) > 0}
        />
        <Tile
          name="Failure rate"
          title={FAILURES}
          value={`${errorRate.toFixed(errorRate < 1 ? 2 : 1)}%`}
          danger={errorRate > 0}
        />
        <Tile name="Tokens" value={count(usage?.overTime.reduce((n, b) => n + Number(b.totalTokens), 0) ?? 0)} />
        <Tile name="Cost" value={money(usage?.overTime.reduce((n, b) => n + b.totalCost, 0) ?? 0)} />
      </div>
      <div class="panels">
        <Panel title="Events over time" wide>
          <TimeChart
            label="Events over time"
            unit="events"
            points={usedSpan(usage?.overTime ?? [], filters.range === "all").map((b) => ({
              startMs: millisOf(b.startTime),
              value: Number(b.events),
              danger: Number(b.errors),
            }))}
          />
        </Panel>
        <Panel title="Events by type">
          <BarList bars={byType} />
        </Panel>
        <Panel title="Tokens by model">
          <BarList bars={keyBars(usage?.byModel ?? [], (row) => Number(row.totalTokens), count)} />
        </Panel>
        <Panel title="Cost by model">
          <BarList
            bars={keyBars(
              usage?.byModel ?? [],
              (row) => row.totalCost,
              (n) => money(n),
            )}
          />
        </Panel>
        <Panel title="Tokens by agent">
          <BarList bars={keyBars(usage?.byAgent ?? [], (row) => Number(row.totalTokens), count)} />
        </Panel>
        <Panel title="Errors by agent">
          <BarList
            bars={keyBars(usage?.byAgent ?? [], (row) => Number(row.errors), count).map((bar) => ({
              ...bar,
              danger: bar.value > 0,
            }))}
          />
        </Panel>
      </div>
    </section>
  );
}

/** "All time" starts at the Unix epoch: its chart starts at the first bucket with anything in it. */
function usedSpan(buckets: UsageBucket[], allTime: boolean): UsageBucket[] {
  if (!allTime) return buckets;
  const first = buckets.findIndex((b) => b.events > 0n || b.sessionsStarted > 0n);
  return first < 0 ? [] : buckets.slice(first);
}

/** What GetUsage's `errors` counts: more events than "Events by type" lists as ERROR. */
const FAILURES = "Events that failed: ERROR events, and any event with status FAILED or severity ERROR";

function Tile({ name, value, title, danger }: { name: string; value: string; title?: string; danger?: boolean }) {
  return (
    <div class={danger ? "tile danger" : "tile"} title={title}>
      <div class="tile-name">{name}</div>
      <div class="tile-value">{value}</div>
    </div>
  );
}

function Panel({ title, wide, children }: { title: string; wide?: boolean; children: preact.ComponentChildren }) {
  return (
    <section class={wide ? "panel wide" : "panel"}>
      <h2>{title}</h2>
      {children}
    </section>
  );
}
