import { create, fromBinary } from "@bufbuild/protobuf";
import {
  type Event,
  EventSchema,
  type EventType,
  EventTypeSchema,
} from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import {
  type Capabilities,
  CapabilitiesSchema,
  type QueryRequest,
  type QueryResponse,
  QueryResponseSchema,
  SortOrder,
  type TimeRange,
} from "../../gen/chaukas/spec/common/v1/query_pb.ts";
import type { EventFilter, EventStore } from "../store/event-store.ts";
import { type FieldViolation, InvalidArgumentError, UnavailableError } from "./errors.ts";
import { toEventRecord } from "./event-record.ts";
import { eventViolations } from "./event-rules.ts";
import type { PageTokenCodec } from "./page-token.ts";
import { timestampProblem, timestampToNs } from "./timestamps.ts";

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;
export const MAX_BATCH_EVENTS = 10_000;

export interface RejectedEvent {
  /** The event's id, or `#<index>` in the batch when it has none. */
  eventId: string;
  reason: string;
}

export interface BatchOutcome {
  acceptedCount: number;
  rejected: RejectedEvent[];
}

export interface StatsRequest {
  tenantId: string;
  projectId: string;
  timeRange?: TimeRange;
}

export interface Stats {
  totalEvents: bigint;
  totalSessions: bigint;
  /** Keyed by the full enum name, e.g. `EVENT_TYPE_AGENT_START`. */
  eventsByType: Record<string, bigint>;
  avgSessionDurationMs: number;
}

/**
 * The use cases of the spec's services, shared by ChaukasServerService and ChaukasClientService
 * and by every protocol: ingest, query, stats, health, capabilities.
 */
export class EventService {
  readonly #store: EventStore;
  readonly #pageTokens: PageTokenCodec;

  constructor(store: EventStore, pageTokens: PageTokenCodec) {
    this.#store = store;
    this.#pageTokens = pageTokens;
  }

  /** Validates and stores one event; resolves once it is committed. Re-sending it is harmless. */
  async ingestEvent(event: Event | undefined): Promise<void> {
    const violations = eventViolations(event, "event");
    if (violations.length > 0 || !event) throw new InvalidArgumentError(violations);
    await this.#store.insertEvents([toEventRecord(event)]);
  }

  /** Stores every valid event of the batch in one transaction and reports the invalid ones. */
  async ingestBatch(events: readonly Event[]): Promise<BatchOutcome> {
    if (events.length > MAX_BATCH_EVENTS) {
      throw new InvalidArgumentError([
        { field: "event_batch.events", description: `has more than ${MAX_BATCH_EVENTS} events` },
      ]);
    }
    const records = [];
    const rejected: RejectedEvent[] = [];
    for (const [i, event] of events.entries()) {
      const violations = eventViolations(event, `event_batch.events[${i}]`);
      if (violations.length === 0) records.push(toEventRecord(event));
      else rejected.push({ eventId: event.eventId || `#${i}`, reason: new InvalidArgumentError(violations).message });
    }
    await this.#store.insertEvents(records);
    return { acceptedCount: records.length, rejected };
  }

  async queryEvents(request: QueryRequest | undefined): Promise<QueryResponse> {
    const filter = request?.filter;
    if (!request || !filter?.tenantId)
      throw new InvalidArgumentError([{ field: "query.filter.tenant_id", description: "is required" }]);
    const violations: FieldViolation[] = [];
    const pageSize = request.pageSize === 0 ? DEFAULT_PAGE_SIZE : Math.min(request.pageSize, MAX_PAGE_SIZE);
    if (pageSize < 0) violations.push({ field: "query.page_size", description: "must not be negative" });
    if (!SORT_ORDERS.has(request.orderByTime)) {
      violations.push({ field: "query.order_by_time", description: `${request.orderByTime} is not a SortOrder` });
    }
    const range = timeRangeBounds(filter.time, "query.filter.time", violations);
    if (violations.length > 0) throw new InvalidArgumentError(violations);

    const ascending = request.orderByTime === SortOrder.ASC;
    const after = request.pageToken ? this.#pageTokens.decode(request.pageToken, filter, ascending) : undefined;
    const storeFilter: EventFilter = {
      tenantId: filter.tenantId,
      projectId: filter.projectId,
      sessionId: filter.sessionId,
      agentId: filter.agentId,
      spanId: filter.spanId,
      traceId: filter.traceId,
      types: filter.types,
      statuses: filter.statuses,
      severities: filter.severities,
      tags: filter.tags,
      textQuery: filter.textQuery.trim(),
      ...range,
    };
    // One extra row tells whether another page exists without a second query.
    const rows = await this.#store.queryEvents({ filter: storeFilter, ascending, limit: pageSize + 1, after });
    const page = rows.slice(0, pageSize);
    const last = page.at(-1);
    return create(QueryResponseSchema, {
      events: page.map((row) => fromBinary(EventSchema, row.payload)),
      nextPageToken: rows.length > pageSize && last ? this.#pageTokens.encode(filter, ascending, last) : "",
    });
  }

  async eventStats(request: StatsRequest): Promise<Stats> {
    if (!request.tenantId) throw new InvalidArgumentError([{ field: "tenant_id", description: "is required" }]);
    const violations: FieldViolation[] = [];
    const range = timeRangeBounds(request.timeRange, "time_range", violations);
    if (violations.length > 0) throw new InvalidArgumentError(violations);
    const stats = await this.#store.eventStats({
      tenantId: request.tenantId,
      projectId: request.projectId,
      ...range,
    });
    const eventsByType: Record<string, bigint> = {};
    for (const [type, count] of stats.eventsByType) {
      eventsByType[EventTypeSchema.value[type as EventType]?.name ?? String(type)] = count;
    }
    return { ...stats, eventsByType };
  }

  /** Throws UnavailableError when the database does not answer. */
  async checkHealth(): Promise<void> {
    try {
      await this.#store.ping();
    } catch (err) {
      throw new UnavailableError("the database cannot be reached", { cause: err });
    }
  }

  /** True only for what this server really does today. */
  capabilities(): Capabilities {
    return create(CapabilitiesSchema, {
      wormRetention: false,
      auditProofs: false,
      distributedQuery: false,
      rbac: false,
      sso: false,
      policyDecisions: true,
      dataAccessEvents: true,
    });
  }
}

const SORT_ORDERS = new Set<number>(Object.values(SortOrder));

/** A TimeRange as store bounds: start inclusive, end exclusive, either may be absent. */
function timeRangeBounds(
  range: TimeRange | undefined,
  field: string,
  violations: FieldViolation[],
): { startNs?: bigint; endNs?: bigint } {
  const bounds: { startNs?: bigint; endNs?: bigint } = {};
  for (const side of ["start", "end"] as const) {
    const ts = range?.[side];
    if (!ts) continue;
    const problem = timestampProblem(ts);
    if (problem) violations.push({ field: `${field}.${side}`, description: problem });
    else bounds[`${side}Ns`] = timestampToNs(ts);
  }
  if (bounds.startNs !== undefined && bounds.endNs !== undefined && bounds.endNs < bounds.startNs) {
    violations.push({ field: `${field}.end`, description: "is before start" });
  }
  return bounds;
}
