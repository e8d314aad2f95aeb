import type { IndexedEnum, IndexedId } from "../codec/event-fields.ts";
import type { EventUsage } from "../codec/event-usage.ts";
import type { TenantScope } from "./tenant-scope.ts";

/**
 * The storage interface. The ingest path (EventWriter) and the query path (EventReader) are kept
 * apart so either can later move to its own backend; one SQL implementation serves both today.
 * Nothing here knows about HTTP or protobuf: events arrive already validated and encoded.
 */

/**
 * One event, ready to store: its indexed ids and enums (codec/event-fields.ts) as the Event holds
 * them, and what is made of it. Empty optional ids are `""` and stored as NULL.
 */
export interface EventRecord extends Record<IndexedId, string>, Record<IndexedEnum, number> {
  /** Event.timestamp in nanoseconds since the Unix epoch. */
  timestampNs: bigint;
  tags: string[];
  /** Text for the full-text index; indexed, not stored. */
  searchText: string;
  /** Its figures for the session and usage views: carried to their rollups, not stored with the event. */
  usage: EventUsage;
  /** The whole Event in its canonical protobuf binary, integrity fields empty. */
  payload: Uint8Array;
  /** SHA-256 of `payload`: the event's leaf in its tenant's audit log. */
  contentHash: Uint8Array;
}

/** Every condition is ANDed; list conditions match any of their values, except `tags` (all of). */
export interface EventFilter {
  tenantId: string;
  projectId?: string;
  sessionId?: string;
  agentId?: string;
  spanId?: string;
  traceId?: string;
  types?: number[];
  statuses?: number[];
  severities?: number[];
  tags?: string[];
  textQuery?: string;
  /** Inclusive. */
  startNs?: bigint;
  /** Exclusive. */
  endNs?: bigint;
}

/** A position in the (timestamp, event_id) order: the last event of the previous page. */
export interface EventCursor {
  timestampNs: bigint;
  eventId: string;
}

export interface EventPageQuery {
  filter: EventFilter;
  ascending: boolean;
  limit: number;
  after?: EventCursor;
}

export interface StoredEvent {
  eventId: string;
  timestampNs: bigint;
  payload: Uint8Array;
  /** Its entry in the tenant's audit log; absent while it is queued for the log (and for events stored before the log existed). */
  logEntry?: LogEntryRef;
}

/** An event's leaf, with its hashes in lowercase hex as events carry them. */
export interface LogEntryRef {
  position: bigint;
  contentHash: string;
  /** The previous position's content hash; "" at position 0. */
  hashPrev: string;
  /** Size of the first checkpoint that includes the entry; absent until one does. */
  checkpointSize?: bigint;
}

export interface StatsQuery {
  tenantId: string;
  projectId?: string;
  startNs?: bigint;
  endNs?: bigint;
}

export interface EventStats {
  totalEvents: bigint;
  totalSessions: bigint;
  eventsByType: Map<number, bigint>;
  /** Mean of (last SESSION_END - first SESSION_START) over sessions that have both in range. */
  avgSessionDurationMs: number;
}

/**
 * Sessions with at least one event matching `filter`, newest first by their start (earliest event);
 * the filter's time range selects by that start, not by the matching events' times.
 */
export interface SessionQuery {
  filter: EventFilter;
  limit: number;
  /** The last session of the previous page. */
  after?: SessionCursor;
}

/** A position in the (start, project_id, session_id) order. */
export interface SessionCursor {
  startNs: bigint;
  projectId: string;
  sessionId: string;
}

/** A session's figures in one project, as the usage rollup has them (see SessionSummary in sessions.proto). */
export interface SessionFigures {
  tenantId: string;
  projectId: string;
  sessionId: string;
  startNs: bigint;
  endNs: bigint;
  events: bigint;
  agents: string[];
  modelCalls: bigint;
  toolCalls: bigint;
  totalTokens: bigint;
  totalCost: number;
  errors: bigint;
  maxSeverity: number;
  status: number;
}

/** [startNs, endNs) in buckets of `bucketSeconds`; both ends are multiples of the bucket. */
export interface UsageQuery {
  tenantId: string;
  projectId?: string;
  startNs: bigint;
  endNs: bigint;
  bucketSeconds: number;
}

export interface UsageBucketFigures {
  events: bigint;
  errors: bigint;
  totalTokens: bigint;
  totalCost: number;
  sessionsStarted: bigint;
}

export interface UsageKeyFigures {
  /** Model calls: MODEL_INVOCATION_START events, or their END where there are more of those. */
  calls: bigint;
  inputTokens: bigint;
  outputTokens: bigint;
  totalTokens: bigint;
  totalCost: number;
  errors: bigint;
}

export interface UsageFigures {
  /** One per bucket of the range, in order, empty ones included. */
  buckets: UsageBucketFigures[];
  /** By model name and by agent; events without one are only in the buckets. */
  byModel: Map<string, UsageKeyFigures>;
  byAgent: Map<string, UsageKeyFigures>;
}

/**
 * Promise: once insertEvents resolves, every record is durably stored, once per (tenant, event_id),
 * and queued for the stats rollups and (with the audit trail on) its tenant's log; if it rejects,
 * none of them is.
 */
export interface EventWriter {
  /**
   * Stores the records in one transaction and queues the new ones, in the given order, for their
   * tenants' audit logs (see AuditLog.integrate). A (tenant, event_id) already stored is left as
   * is, and of repeats within `records` the first is kept.
   */
  insertEvents(scope: TenantScope, records: readonly EventRecord[]): Promise<void>;
}

/**
 * Promise: reads see every committed event of the scope and nothing of another tenant, in the
 * order and pages asked, with each event's log entry once it has one.
 */
export interface EventReader {
  queryEvents(scope: TenantScope, query: EventPageQuery): Promise<StoredEvent[]>;
  eventStats(scope: TenantScope, query: StatsQuery): Promise<EventStats>;
  /** Sessions as rolled up by the integrator: those still queued are not listed yet. */
  listSessions(scope: TenantScope, query: SessionQuery): Promise<SessionFigures[]>;
  /** Usage from the rollups and the queue. */
  usage(scope: TenantScope, query: UsageQuery): Promise<UsageFigures>;
  /**
   * Where the stored events of `records` hold, in a column queries filter on, another value than
   * the insert would make of the record: one difference per event and column, in record order.
   */
  columnDifferences(scope: TenantScope, records: readonly EventRecord[]): Promise<ColumnDifference[]>;
}

/** A column of a stored event that is not what its payload gives: values as PostgreSQL text. */
export interface ColumnDifference {
  eventId: string;
  column: string;
  stored: string | null;
  derived: string | null;
}

/**
 * A place in the live tail's order, (stored_xid, event_id): the inserting transaction's id, then
 * the event id. `eventId: ""` is before every event of transaction `xid`.
 */
export interface TailPosition {
  xid: bigint;
  eventId: string;
}

export interface TailEvent {
  position: TailPosition;
  payload: Uint8Array;
}

export interface TailRead {
  /** Matching events after the position, in order, at most the limit. */
  events: TailEvent[];
  /**
   * Every transaction below this one had ended when the events were read: a read that returned
   * fewer events than its limit has seen every matching event before `(horizon, "")`.
   */
  horizon: bigint;
}

/** The stored events in the order the live tail follows them (see docs/adr/0014-live-tail.md). */
export interface TailSource {
  /** The events after `after` matching `filter` (its time bounds included) of transactions below the horizon. */
  readTail(scope: TenantScope, filter: EventFilter, after: TailPosition, limit: number): Promise<TailRead>;
  /** The current horizon, and whether any event of `tenantId` lies between `after` and it. */
  tailHorizon(scope: TenantScope, tenantId: string, after: TailPosition): Promise<{ horizon: bigint; newer: boolean }>;
}
