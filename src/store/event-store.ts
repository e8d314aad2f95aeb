import type { AuditLog } from "./audit-log.ts";
import type { KeyStore } from "./key-store.ts";
import type { TenantScope } from "./tenant-scope.ts";

/**
 * The storage interface. The ingest path (EventWriter) and the query path (EventReader) are kept
 * apart so either can later move to its own backend; one SQL implementation serves both today.
 * Nothing here knows about HTTP or protobuf: events arrive already validated and encoded.
 */

/** One event, ready to store. Empty optional ids are `""` and stored as NULL. */
export interface EventRecord {
  tenantId: string;
  eventId: string;
  projectId: string;
  sessionId: string;
  traceId: string;
  spanId: string;
  agentId: string;
  type: number;
  status: number;
  severity: number;
  /** Event.timestamp in nanoseconds since the Unix epoch. */
  timestampNs: bigint;
  tags: string[];
  /** Text for the full-text index; indexed, not stored. */
  searchText: string;
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

export interface LogEntryRef {
  position: bigint;
  contentHash: Uint8Array;
  /** The previous position's content hash; empty at position 0. */
  hashPrev: Uint8Array;
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

export interface EventWriter {
  /**
   * Stores the records in one transaction and queues the new ones, in the given order, for their
   * tenants' audit logs (see AuditLog.integrate). A (tenant, event_id) already stored is left as
   * is, and of repeats within `records` the first is kept.
   */
  insertEvents(scope: TenantScope, records: readonly EventRecord[]): Promise<void>;
}

export interface EventReader {
  queryEvents(scope: TenantScope, query: EventPageQuery): Promise<StoredEvent[]>;
  eventStats(scope: TenantScope, query: StatsQuery): Promise<EventStats>;
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

/** The database: events, and beside them their audit logs, API keys and shared secrets. */
export interface EventStore extends EventWriter, EventReader {
  readonly audit: AuditLog;
  readonly keys: KeyStore;
  /** A secret shared by every process on this database, created on first use. */
  sharedSecret(name: string, create: () => Uint8Array): Promise<Uint8Array>;
  /** The shared secret of that name, if one was created. */
  findSharedSecret(name: string): Promise<Uint8Array | undefined>;
  /**
   * The write-once triggers and row-level security of events and logs that are missing or
   * switched off, one sentence each (see sql/safeguards.ts).
   */
  missingSafeguards(): Promise<string[]>;
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  /** The migrations this server expects that the database has not applied. */
  missingMigrations(): Promise<string[]>;
  /** The connection pool now: connections open, of them idle, and requests waiting for one. */
  connections(): { open: number; idle: number; waiting: number };
  close(): Promise<void>;
}
