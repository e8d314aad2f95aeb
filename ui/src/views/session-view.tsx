import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { Event } from "../../../gen/chaukas/spec/common/v1/events_pb.ts";
import { SortOrder } from "../../../gen/chaukas/spec/common/v1/query_pb.ts";
import { type Api, errorText, isUnauthenticated } from "../api.ts";
import { EventDetail } from "../components/event-detail.tsx";
import { LiveToggle } from "../components/live-toggle.tsx";
import { VirtualList } from "../components/virtual-list.tsx";
import { WaterfallAxis, WaterfallRowView } from "../components/waterfall-row.tsx";
import { absoluteTime, count, duration, money, nanosOf, relativeTime } from "../format.ts";
import { useLiveTail } from "../live.ts";
import { navigate, onLinkClick, urlOf } from "../router.ts";
import {
  ancestorKeys,
  buildWaterfall,
  isFailure,
  visibleRows,
  type Waterfall,
  type WaterfallRow,
} from "../waterfall/tree.ts";

const PAGE_SIZE = 1000;
const ROW_HEIGHT = 26;
/** Beyond this the page stops reading and says so: the waterfall is for one session, not a tenant. */
const MAX_EVENTS = 200_000;

/** One session as a waterfall of its spans, with the selected row's events beside it. */
export function SessionView(props: { api: Api; sessionId: string; params: URLSearchParams; onAuthFailed: () => void }) {
  const { api, sessionId, params } = props;
  const tenantId = params.get("tenant") ?? "";
  const projectId = params.get("project") ?? "";
  const live = params.get("live") === "1";
  const filter = useMemo(() => ({ tenantId, projectId, sessionId }), [tenantId, projectId, sessionId]);
  const [events, setEvents] = useState<Event[]>([]);
  const [state, setState] = useState<{ loading: boolean; error?: string; truncated?: boolean }>({ loading: true });

  /** Adds the events not shown yet. */
  const merge = (batch: Event[]) =>
    setEvents((before) => {
      const known = new Set(before.map((e) => e.eventId));
      return before.concat(batch.filter((e) => !known.has(e.eventId)));
    });
  /** Reads the session's stored events page by page, handing each growing prefix to `onPage`. */
  const readSession = async (signal: AbortSignal, onPage: (loaded: Event[]) => void) => {
    let pageToken = "";
    let loaded: Event[] = [];
    do {
      const { response } = await api.events.queryEvents(
        { query: { filter, pageSize: PAGE_SIZE, pageToken, orderByTime: SortOrder.ASC } },
        { signal },
      );
      loaded = loaded.concat(response?.events ?? []);
      pageToken = response?.nextPageToken ?? "";
      onPage(loaded);
    } while (pageToken && loaded.length < MAX_EVENTS);
    return { loaded, truncated: pageToken !== "" };
  };
  const failed = (signal: AbortSignal) => (err: unknown) => {
    if (signal.aborted) return;
    if (isUnauthenticated(err)) props.onAuthFailed();
    setState({ loading: false, error: errorText(err) });
  };

  useEffect(() => {
    const abort = new AbortController();
    setEvents([]);
    setState({ loading: true });
    // Draws what has come so far: a long session is readable before its last page arrives. Pages
    // are merged, not set, so events the tail delivered meanwhile stay.
    readSession(abort.signal, merge)
      .then(({ truncated }) => setState({ loading: false, truncated }))
      .catch(failed(abort.signal));
    return () => abort.abort();
  }, [api, filter]);

  // Live: new events join the waterfall, a batch per animation frame. Once the tail is open the
  // session is read again and merged, for what was stored between the first read and the tail.
  const arrived = useRef<Event[]>([]);
  const tail = useLiveTail(api, filter, live, {
    onOpen: () => {
      const never = new AbortController().signal;
      readSession(never, () => {})
        .then(({ loaded }) => merge(loaded))
        .catch(failed(never));
    },
    onEvent: (event) => {
      if (arrived.current.push(event) > 1) return;
      requestAnimationFrame(() => {
        const batch = arrived.current;
        arrived.current = [];
        merge(batch);
      });
    },
  });

  const waterfall = useMemo(() => buildWaterfall(events), [events]);
  const selectRow = (row: WaterfallRow | undefined) => {
    if (row)
      navigate(urlOf(location.pathname, { ...Object.fromEntries(params), event: row.events[0].eventId }), {
        replace: true,
      });
  };
  const selectedEventId = params.get("event") ?? "";
  const holdsSelected = (row: WaterfallRow) => row.events.some((event) => event.eventId === selectedEventId);
  // Folded rows, by key: their descendants are not drawn.
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(new Set());
  const rows = useMemo(() => visibleRows(waterfall.rows, collapsed), [waterfall, collapsed]);
  const selectedIndex = useMemo(() => rows.findIndex(holdsSelected), [rows, selectedEventId]);
  const fold = (row: WaterfallRow | undefined, folded: boolean) => {
    if (!row || row.childCount === 0 || collapsed.has(row.key) === folded) return;
    const next = new Set(collapsed);
    if (folded) next.add(row.key);
    else next.delete(row.key);
    setCollapsed(next);
    // Folding away the selected row selects the row that hides it.
    if (folded && ancestorKeys(waterfall.rows, waterfall.rows.findIndex(holdsSelected)).includes(row.key)) {
      selectRow(row);
    }
  };
  // A newly selected event inside a folded row (a shared URL, "show first" error) unfolds the rows above it.
  useEffect(() => {
    const above = ancestorKeys(waterfall.rows, waterfall.rows.findIndex(holdsSelected));
    if (above.some((key) => collapsed.has(key)))
      setCollapsed(new Set([...collapsed].filter((k) => !above.includes(k))));
  }, [selectedEventId, waterfall]);
  const select = (index: number) => selectRow(rows[index]);
  const errors = useMemo(() => events.filter(isFailure), [events]);
  const usage = useMemo(() => usageOf(events), [events]);
  // The row of the earliest failed event: a failed SESSION_END marks the session row failed too,
  // but it only sums up the failures before it.
  const firstError = useMemo(() => {
    const first = errors.reduce<Event | undefined>(
      (earliest, event) => (earliest && nanosOf(earliest.timestamp) <= nanosOf(event.timestamp) ? earliest : event),
      undefined,
    );
    return waterfall.rows.find((row) => first && row.events.includes(first));
  }, [errors, waterfall]);
  const startMs = Number(waterfall.startNs / 1_000_000n);
  const spanMs = Number(waterfall.endNs - waterfall.startNs) / 1e6;

  return (
    <section class="view session-view">
      <div class="view-head">
        <a class="back" href={urlOf("/sessions", { project: projectId || undefined })} onClick={onLinkClick}>
          ← Sessions
        </a>
        <h1 class="ellipsis" title={sessionId}>
          {sessionId}
        </h1>
        <LiveToggle path={location.pathname} params={params} live={tail} />
      </div>
      <dl class="facts">
        <Fact name="Project" value={projectId || events[0]?.projectId || "–"} />
        <Fact
          name="Started"
          value={events.length ? relativeTime(startMs) : "–"}
          title={events.length ? absoluteTime(startMs) : ""}
        />
        <Fact name="Duration" value={events.length ? sessionDuration(waterfall, spanMs) : "–"} />
        <Fact name="Events" value={`${events.length.toLocaleString()}${state.loading ? "…" : ""}`} />
        <Fact name="Spans" value={count(waterfall.rows.filter((row) => row.kind !== "event").length)} />
        <Fact name="Tokens" value={usage.tokens ? count(usage.tokens) : "–"} />
        <Fact name="Cost" value={money(usage.cost)} />
        <div
          class={errors.length ? "fact fact-error" : "fact"}
          title="Events that failed: ERROR events, status FAILED, severity ERROR or worse, tool results with an error"
        >
          <dt>Failures</dt>
          <dd>
            {errors.length ? (
              <button type="button" class="link danger" onClick={() => selectRow(firstError)}>
                {count(errors.length)} — show first
              </button>
            ) : (
              "none"
            )}
          </dd>
        </div>
      </dl>
      {state.error ? (
        <p class="error banner" role="alert">
          {state.error}
        </p>
      ) : null}
      {state.truncated ? <p class="banner">Showing the first {count(MAX_EVENTS)} events of this session.</p> : null}
      {!state.loading && !state.error && events.length === 0 ? (
        <div class="empty">
          <p>No events in this session{tenantId ? ` of tenant ${tenantId}` : ""}.</p>
        </div>
      ) : (
        <div class="split">
          <VirtualList
            label="Waterfall"
            items={rows}
            rowHeight={ROW_HEIGHT}
            selectedIndex={selectedIndex}
            onSelect={select}
            onOpen={select}
            onCollapse={(index) => fold(rows[index], true)}
            onExpand={(index) => fold(rows[index], false)}
            header={<WaterfallAxis spanMs={spanMs} />}
            renderRow={(row) => (
              <WaterfallRowView
                row={row}
                waterfall={waterfall}
                collapsed={collapsed.has(row.key)}
                onToggle={(toggled) => fold(toggled, !collapsed.has(toggled.key))}
              />
            )}
          />
          <aside class="detail" aria-label="Event">
            {selectedIndex >= 0 ? (
              <EventDetail api={api} row={rows[selectedIndex]} sessionStartNs={waterfall.startNs} />
            ) : (
              <div class="empty">
                <p>Select a row to see its events.</p>
                <p class="muted small">↑ ↓ move · Enter opens · the URL keeps the selection</p>
              </div>
            )}
          </aside>
        </div>
      )}
    </section>
  );
}

/** A session whose span has no END yet is running: its events so far span less than it will. */
function sessionDuration(waterfall: Waterfall, spanMs: number): string {
  const running = waterfall.rows.some((row) => row.kind === "session" && row.endNs === undefined);
  if (!running) return duration(spanMs);
  return spanMs > 0 ? `running, ${duration(spanMs)} so far` : "running";
}

/** Tokens and cost as the sessions list counts them: a model call's own figures, else its CostDetails. */
function usageOf(events: Event[]): { tokens: number; cost: number } {
  let tokens = 0;
  let cost = 0;
  for (const event of events) {
    const llm = event.content.case === "llmInvocation" ? event.content.value : undefined;
    tokens += llm?.totalTokens || (llm ? llm.promptTokens + llm.completionTokens : 0) || event.cost?.totalTokens || 0;
    cost += event.cost?.totalCost ?? 0;
  }
  return { tokens, cost };
}

function Fact({ name, value, title }: { name: string; value: string; title?: string }) {
  return (
    <div class="fact">
      <dt>{name}</dt>
      <dd title={title}>{value}</dd>
    </div>
  );
}
