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
  /** The whole Event, protobuf binary. */
  payload: Uint8Array;
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
  /** Stores the records in one transaction; a (tenant, event_id) already stored is left as is. */
  insertEvents(records: readonly EventRecord[]): Promise<void>;
}

export interface EventReader {
  queryEvents(query: EventPageQuery): Promise<StoredEvent[]>;
  eventStats(query: StatsQuery): Promise<EventStats>;
}

export interface EventStore extends EventWriter, EventReader {
  /** A secret shared by every process on this database, created on first use. */
  sharedSecret(name: string, create: () => Uint8Array): Promise<Uint8Array>;
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
