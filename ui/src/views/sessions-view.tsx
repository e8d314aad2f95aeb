import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { SessionSummary } from "../../../gen/chaukas/backend/v1/sessions_pb.ts";
import { EventStatus, Severity } from "../../../gen/chaukas/spec/common/v1/events_pb.ts";
import { type Api, errorText, isUnauthenticated } from "../api.ts";
import { FilterBar } from "../components/filter-bar.tsx";
import { LiveToggle } from "../components/live-toggle.tsx";
import { VirtualList } from "../components/virtual-list.tsx";
import { filtersOf, queryFilterOf } from "../filters.ts";
import { absoluteTime, count, duration, millisOf, money, relativeTime } from "../format.ts";
import { useLiveTail } from "../live.ts";
import { statusName } from "../names.ts";
import { navigate, urlOf } from "../router.ts";

const PAGE_SIZE = 200;
const ROW_HEIGHT = 34;

/** Sessions in a time range, newest first, filtered by the URL; live, they refresh as events arrive. */
export function SessionsView({
  api,
  params,
  onAuthFailed,
}: {
  api: Api;
  params: URLSearchParams;
  onAuthFailed: () => void;
}) {
  const filters = filtersOf(params);
  const live = params.get("live") === "1";
  const filterKey = params.toString();
  const queryFilter = useMemo(() => queryFilterOf(filters), [filterKey]);
  const [sessions, setSessions] = useState<SessionSummary[]>([]);
  const [nextToken, setNextToken] = useState("");
  const [status, setStatus] = useState<{ loading: boolean; error?: string }>({ loading: true });
  const [selected, setSelected] = useState(0);
  const loading = useRef(false);
  const reloadAfter = useRef(false);

  const load = useCallback(
    async (pageToken: string) => {
      if (loading.current) {
        // A reload asked for while a read runs is run after it: that read may predate what it is for.
        if (!pageToken) reloadAfter.current = true;
        return;
      }
      loading.current = true;
      try {
        const answer = await api.sessions.listSessions({
          filter: queryFilterOf(filters),
          pageSize: PAGE_SIZE,
          pageToken,
        });
        setSessions((before) => (pageToken ? [...before, ...answer.sessions] : answer.sessions));
        setNextToken(answer.nextPageToken);
        setStatus({ loading: false });
      } catch (err) {
        if (isUnauthenticated(err)) onAuthFailed();
        setStatus({ loading: false, error: errorText(err) });
      } finally {
        loading.current = false;
      }
      if (reloadAfter.current) {
        reloadAfter.current = false;
        void load("");
      }
    },
    [api, filterKey],
  );
  useEffect(() => {
    setStatus({ loading: true });
    void load("");
  }, [load]);

  // Live: a new event may start a session or change one's figures; reload the first page, at most
  // once a second. Once the tail is open, reload at once: the first read may predate it.
  const pending = useRef<ReturnType<typeof setTimeout>>(undefined);
  const tail = useLiveTail(api, queryFilter, live, {
    onOpen: () => void load(""),
    onEvent: () => {
      pending.current ??= setTimeout(() => {
        pending.current = undefined;
        void load("");
      }, 1000);
    },
  });
  useEffect(() => () => clearTimeout(pending.current), []);

  const open = (index: number) => {
    const session = sessions[index];
    if (session) navigate(urlOf(`/sessions/${encodeURIComponent(session.sessionId)}`, sessionParams(session)));
  };
  const extra = live ? { live: "1" } : undefined;
  return (
    <section class="view">
      <div class="view-head">
        <h1>Sessions</h1>
        <span class="muted">
          {status.loading ? "Loading…" : `${sessions.length.toLocaleString()}${nextToken ? "+" : ""} sessions`}
        </span>
        <LiveToggle path="/sessions" params={params} live={tail} />
      </div>
      <FilterBar path="/sessions" filters={filters} extra={extra} />
      {status.error ? (
        <p class="error banner" role="alert">
          {status.error}
        </p>
      ) : null}
      {!status.loading && !status.error && sessions.length === 0 ? (
        <div class="empty">
          <p>No sessions in this range.</p>
          <p class="muted">Widen the time range or clear a filter.</p>
        </div>
      ) : (
        <VirtualList
          label="Sessions"
          items={sessions}
          rowHeight={ROW_HEIGHT}
          selectedIndex={selected}
          onSelect={setSelected}
          onOpen={open}
          onNearEnd={() => nextToken && void load(nextToken)}
          header={<SessionHeader />}
          renderRow={(session) => <SessionRow session={session} onOpen={() => open(sessions.indexOf(session))} />}
        />
      )}
    </section>
  );
}

export function sessionParams(session: Pick<SessionSummary, "tenantId" | "projectId">) {
  return { tenant: session.tenantId, project: session.projectId };
}

/** The columns, and whether each holds numbers: their headers are right-aligned over them. */
const COLUMNS: [name: string, numeric: boolean][] = [
  ["Session", false],
  ["Start", false],
  ["Duration", true],
  ["Events", true],
  ["Agents", false],
  ["Model calls", true],
  ["Tool calls", true],
  ["Tokens", true],
  ["Cost", true],
  ["Failures", true],
  ["Status", false],
];

function SessionHeader() {
  return (
    <div class="vhead sessions-grid" role="row">
      {COLUMNS.map(([name, numeric]) => (
        <span key={name} role="columnheader" class={numeric ? "num" : undefined}>
          {name}
        </span>
      ))}
    </div>
  );
}

function SessionRow({ session, onOpen }: { session: SessionSummary; onOpen: () => void }) {
  const start = millisOf(session.startTime);
  const errors = Number(session.errors);
  const failed = errors > 0 || session.maxSeverity >= Severity.ERROR || session.status === EventStatus.FAILED;
  return (
    <div class={failed ? "sessions-grid failed" : "sessions-grid"}>
      <span class="cell-main">
        <a
          href={urlOf(`/sessions/${encodeURIComponent(session.sessionId)}`, sessionParams(session))}
          class="cell-link"
          onClick={(e) => {
            e.preventDefault();
            onOpen();
          }}
        >
          {session.sessionId}
        </a>
        <span class="muted small">{session.projectId}</span>
      </span>
      <span title={absoluteTime(start)}>{relativeTime(start)}</span>
      <span class="num">{duration(millisOf(session.endTime) - start)}</span>
      <span class="num">{count(session.eventCount)}</span>
      <span class="ellipsis" title={session.agents.join(", ")}>
        {session.agents.join(", ") || "–"}
      </span>
      <span class="num">{count(session.modelCalls)}</span>
      <span class="num">{count(session.toolCalls)}</span>
      <span class="num">{count(session.totalTokens)}</span>
      <span class="num">{money(session.totalCost)}</span>
      <span class={errors > 0 ? "num error-count" : "num muted"}>{errors > 0 ? count(errors) : "0"}</span>
      <span>
        <span class={`badge status-${statusName(session.status).toLowerCase()}`}>
          {statusName(session.status).toLowerCase()}
        </span>
      </span>
    </div>
  );
}
