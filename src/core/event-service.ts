import { create, fromBinary } from "@bufbuild/protobuf";
import { type Event, EventSchema } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import {
  type Capabilities,
  CapabilitiesSchema,
  type QueryRequest,
  SortOrder,
  type TimeRange,
} from "../../gen/chaukas/spec/common/v1/query_pb.ts";
import {
  type FieldViolation,
  InvalidArgumentError,
  OverloadedError,
  PermissionDeniedError,
  UnavailableError,
} from "../lib/errors.ts";
import { type Metrics, NO_METRICS } from "../lib/metrics.ts";
import { within } from "../lib/within.ts";
import type { Database } from "../store/database.ts";
import type { EventRecord } from "../store/event-store.ts";
import { authorize, type Principal, scopeEvent, tenantScope } from "./access.ts";
import type { BatchOutcome, RejectedEvent } from "./batch-outcome.ts";
import type { EventPage } from "./event-page.ts";
import { contentHashProblem, toEventRecord, wireEventRecord } from "./event-record.ts";
import { decodedEventViolations, eventViolations } from "./event-rules.ts";
import { readWireEvent, type WireEvent } from "./event-wire.ts";
import { defaultMaxHeapBytes, IngestGate, type IngestGateOptions } from "./ingest-gate.ts";
import type { PageTokenCodec } from "./page-token.ts";
import { namedByType, pageSizeOf, readQueryFilter, readScopedRange } from "./query-filter.ts";
import { redactedRecord } from "./redaction/redacted-record.ts";
import { Redactions } from "./redaction/redactions.ts";
import type { Redaction } from "./redaction/redactor.ts";
import { SessionViews } from "./session-views.ts";

export const MAX_BATCH_EVENTS = 10_000;
/** How long Healthz waits for the database before it answers `unavailable`. */
export const HEALTH_CHECK_TIMEOUT_MS = 5_000;
export const DEFAULT_INGEST_BOUNDS: IngestGateOptions = {
  maxInFlightEvents: 50_000,
  maxHeapBytes: defaultMaxHeapBytes(),
};

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

export interface EventServiceOptions {
  gate?: IngestGate;
  rbac?: boolean;
  auditTrail?: boolean;
  metrics?: Metrics;
}

/**
 * The use cases of the spec's services, shared by ChaukasServerService and ChaukasClientService
 * and by every protocol: ingest, query, stats, health, capabilities.
 */
export class EventService {
  readonly #store: Database;
  readonly #pageTokens: PageTokenCodec;
  readonly #gate: IngestGate;
  readonly #rbac: boolean;
  readonly #auditTrail: boolean;
  /** The dashboard's session and usage views, over the same store and page-token key. */
  readonly sessions: SessionViews;
  /** The redaction rules applied to every event before it is encoded and stored. */
  readonly redactions: Redactions;
  readonly #metrics: Metrics;

  /**
   * `rbac`: whether callers are authenticated by API key (false with --insecure-no-auth).
   * `auditTrail`: whether stored events join the signed, append-only audit log.
   */
  constructor(store: Database, pageTokens: PageTokenCodec, options: EventServiceOptions = {}) {
    this.#store = store;
    this.#pageTokens = pageTokens;
    this.#gate = options.gate ?? new IngestGate(DEFAULT_INGEST_BOUNDS);
    this.#rbac = options.rbac ?? false;
    this.#auditTrail = options.auditTrail ?? true;
    this.sessions = new SessionViews(store, pageTokens);
    this.redactions = new Redactions(store.redaction);
    this.#metrics = options.metrics ?? NO_METRICS;
  }

  /**
   * Validates and stores one event; resolves with its id once it is committed. Re-sending it is
   * harmless. The event comes decoded, or as its protobuf bytes (read as a batch's are). An empty
   * tenant_id (or project_id) takes the caller's key's. `fieldPrefix` is where the event sits in
   * the request, for error messages.
   */
  async ingestEvent(
    principal: Principal,
    event: Event | Uint8Array | undefined,
    fieldPrefix = "event",
  ): Promise<string> {
    authorize(principal, "ingest");
    const read = event === undefined ? undefined : readEvent(event);
    if (typeof read === "string") {
      this.#metrics.eventsRejected("undecodable", tenantOf(principal), 1);
      throw new InvalidArgumentError([{ field: fieldPrefix || "event", description: read }]);
    }
    const fields = read?.fields;
    const tenant = tenantOf(principal, fields);
    const outOfScope = fields && scopeEvent(principal, fields);
    if (outOfScope) {
      this.#metrics.eventsRejected("out_of_scope", tenant, 1);
      throw new PermissionDeniedError(outOfScope);
    }
    const violations = read ? read.violations(fieldPrefix) : eventViolations(undefined, fieldPrefix);
    if (violations.length > 0 || !read) {
      this.#metrics.eventsRejected("invalid", tenant, 1);
      throw new InvalidArgumentError(violations);
    }
    const release = this.#admit(1, tenant);
    try {
      const record = read.record();
      const hashProblem = contentHashProblem(read.fields, record);
      if (hashProblem) {
        this.#metrics.eventsRejected("invalid", tenant, 1);
        throw new InvalidArgumentError([{ field: `${fieldPrefix}.content_hash`, description: hashProblem }]);
      }
      const redact = await this.redactions.forTenants([record.tenantId]);
      const redacted = redactOrRefuse(redact(record.tenantId, record.projectId), record);
      if (typeof redacted === "string") {
        this.#metrics.eventsRejected("invalid", tenant, 1);
        throw new InvalidArgumentError([{ field: fieldPrefix || "event", description: redacted }]);
      }
      await this.#store.insertEvents(tenantScope(principal), [redacted]);
      this.#metrics.eventsAccepted(record.tenantId, 1);
      return read.fields.eventId;
    } finally {
      release();
    }
  }

  /**
   * Stores every valid event of the batch in one transaction and reports the others: invalid,
   * undecodable, or outside the caller's scope. Events come decoded, or as their protobuf bytes
   * (read by event-wire.ts, decoded only when it cannot read them). `fieldPrefix` names the
   * events list in error messages, and `indexes` each event's place in it when some of the
   * request's events were set aside before.
   */
  async ingestBatch(
    principal: Principal,
    events: readonly (Event | Uint8Array)[],
    fieldPrefix = "event_batch.events",
    indexes: readonly number[] = events.map((_, i) => i),
  ): Promise<BatchOutcome> {
    authorize(principal, "ingest");
    if (events.length > MAX_BATCH_EVENTS) {
      throw new InvalidArgumentError([{ field: fieldPrefix, description: `has more than ${MAX_BATCH_EVENTS} events` }]);
    }
    this.#metrics.ingestBatch(events.length);
    // Admitted before any work, so a refused batch costs nothing and is not half stored.
    const release = this.#admit(events.length, tenantOf(principal));
    try {
      const valid: { index: number; id: string; record: EventRecord }[] = [];
      const rejected: RejectedEvent[] = [];
      for (const [k, item] of events.entries()) {
        const index = indexes[k];
        const at = `${fieldPrefix}[${index}]`;
        const read = readEvent(item);
        if (typeof read === "string") {
          rejected.push({ index, eventId: `#${index}`, reason: `${at}: ${read}` });
          this.#metrics.eventsRejected("undecodable", tenantOf(principal), 1);
          continue;
        }
        const fields = read.fields;
        const id = fields.eventId || `#${index}`;
        const outOfScope = scopeEvent(principal, fields);
        const violations = outOfScope ? [] : read.violations(at);
        const record = outOfScope || violations.length > 0 ? undefined : read.record();
        const hashProblem = record && contentHashProblem(fields, record);
        if (hashProblem) violations.push({ field: `${at}.content_hash`, description: hashProblem });
        if (outOfScope) rejected.push({ index, eventId: id, reason: outOfScope });
        else if (violations.length > 0)
          rejected.push({ index, eventId: id, reason: new InvalidArgumentError(violations).message });
        else if (record) valid.push({ index, id, record });
        if (outOfScope || violations.length > 0) {
          this.#metrics.eventsRejected(outOfScope ? "out_of_scope" : "invalid", tenantOf(principal, fields), 1);
        }
      }
      const redact = await this.redactions.forTenants(valid.map((v) => v.record.tenantId));
      const records = [];
      for (const { index, id, record } of valid) {
        const redacted = redactOrRefuse(redact(record.tenantId, record.projectId), record);
        if (typeof redacted !== "string") {
          records.push(redacted);
          continue;
        }
        rejected.push({ index, eventId: id, reason: `${fieldPrefix}[${index}]: ${redacted}` });
        this.#metrics.eventsRejected("invalid", record.tenantId, 1);
      }
      await this.#store.insertEvents(tenantScope(principal), records);
      for (const [tenant, count] of countByTenant(records)) this.#metrics.eventsAccepted(tenant, count);
      return { acceptedCount: records.length, rejected };
    } finally {
      release();
    }
  }

  /**
   * One page of events, as stored: the caller encodes them for its answer (event-page.ts).
   * `fieldPrefix` is where the QueryRequest sits in the request, for error messages.
   */
  async queryEvents(
    principal: Principal,
    request: QueryRequest | undefined,
    fieldPrefix = "query",
  ): Promise<EventPage> {
    authorize(principal, "read");
    const at = (field: string) => (fieldPrefix ? `${fieldPrefix}.${field}` : field);
    if (!request) throw new InvalidArgumentError([{ field: at("filter.tenant_id"), description: "is required" }]);
    const violations: FieldViolation[] = [];
    const { filter, storeFilter } = readQueryFilter(principal, request.filter, at, violations);
    const pageSize = pageSizeOf(request.pageSize, at("page_size"), violations);
    if (!SORT_ORDERS.has(request.orderByTime)) {
      violations.push({ field: at("order_by_time"), description: `${request.orderByTime} is not a SortOrder` });
    }
    if (violations.length > 0) throw new InvalidArgumentError(violations);

    const ascending = request.orderByTime === SortOrder.ASC;
    const after = request.pageToken
      ? this.#pageTokens.decode(request.pageToken, filter, ascending, at("page_token"))
      : undefined;
    // One extra row tells whether another page exists without a second query. A read of one
    // tenant runs in that tenant's scope whoever asks: the same rows, and under row-level
    // security PostgreSQL estimates the rows of a tenant scope far better than those of all
    // tenants (a common word's newest matches: an index walk in time order, not a sort of all).
    const rows = await this.#store.queryEvents(
      { tenantId: filter.tenantId },
      {
        filter: storeFilter,
        ascending,
        limit: pageSize + 1,
        after,
      },
    );
    const page = rows.slice(0, pageSize);
    const last = page.at(-1);
    return {
      events: page,
      nextPageToken: rows.length > pageSize && last ? this.#pageTokens.encode(filter, ascending, last) : "",
    };
  }

  async eventStats(principal: Principal, request: StatsRequest): Promise<Stats> {
    authorize(principal, "read");
    const violations: FieldViolation[] = [];
    const query = readScopedRange(principal, request, violations);
    if (violations.length > 0) throw new InvalidArgumentError(violations);
    const stats = await this.#store.eventStats({ tenantId: query.tenantId }, query);
    return { ...stats, eventsByType: namedByType(stats.eventsByType) };
  }

  /** Admits `events` to the ingest gate, counting them rejected as `overloaded` when it refuses. */
  #admit(events: number, tenant: string): () => void {
    try {
      return this.#gate.admit(events);
    } catch (err) {
      if (err instanceof OverloadedError) this.#metrics.eventsRejected("overloaded", tenant, events);
      throw err;
    }
  }

  /** Throws UnavailableError when the database does not answer, or not within HEALTH_CHECK_TIMEOUT_MS. */
  async checkHealth(): Promise<void> {
    // Bounded: behind a silent network the ping never settles, and Healthz hung with it.
    try {
      await within(this.#store.ping(), HEALTH_CHECK_TIMEOUT_MS);
    } catch (err) {
      throw new UnavailableError("the database cannot be reached", { cause: err });
    }
  }

  /** True only for what this server really does today. */
  async capabilities(principal: Principal): Promise<Capabilities> {
    authorize(principal, "read");
    // Stored events are write once (the database refuses changing them but for a recorded purge),
    // and retained for a period only where a retention policy covers the caller's events. The
    // other capabilities need no database: one that does not answer (as Healthz bounds it) leaves this one false.
    const covered = await within(this.#retentionCovers(principal), HEALTH_CHECK_TIMEOUT_MS).catch(() => false);
    return create(CapabilitiesSchema, {
      wormRetention: covered,
      auditProofs: this.#auditTrail,
      distributedQuery: false,
      rbac: this.#rbac,
      sso: false,
      policyDecisions: true,
      dataAccessEvents: true,
    });
  }

  /** Whether a retention period covers some of the principal's events. */
  async #retentionCovers(principal: Principal): Promise<boolean> {
    const policies = await this.#store.retention.policies(
      tenantScope(principal),
      principal.kind === "key" ? principal.tenantId : undefined,
    );
    return policies.some(
      (policy) =>
        policy.projectId === "" ||
        principal.kind === "unrestricted" ||
        principal.projects.length === 0 ||
        principal.projects.includes(policy.projectId),
    );
  }
}

const SORT_ORDERS = new Set<number>(Object.values(SortOrder));

/** The tenant an ingested event is counted under in the metrics: its key's, else the one it names. */
export function tenantOf(principal: Principal, event?: { tenantId: string }): string {
  return principal.kind === "key" ? principal.tenantId : (event?.tenantId ?? "");
}

function countByTenant(records: readonly EventRecord[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of records) counts.set(r.tenantId, (counts.get(r.tenantId) ?? 0) + 1);
  return counts;
}

/**
 * The record to store, redacted, or why the event is refused: a redaction that fails stores
 * nothing (fail closed), and its error, which may quote the event, goes nowhere.
 */
function redactOrRefuse(redaction: Redaction, record: EventRecord): EventRecord | string {
  try {
    return redactedRecord(redaction, record);
  } catch {
    return "could not be redacted, so it was not stored";
  }
}

/** An event of a request, read: its fields, what its rules find wrong, and its record once they pass. */
interface ReadEvent {
  fields: WireEvent["fields"];
  /** The rules' findings, named under `at`; a decoded event is checked whole (decodedEventViolations). */
  violations(at: string): FieldViolation[];
  record(): EventRecord;
}

/** The event read from its bytes, or decoded when it must be, or why its bytes cannot be decoded. */
function readEvent(item: Event | Uint8Array): ReadEvent | string {
  if (!(item instanceof Uint8Array)) return decodedEvent(item);
  const wire = readWireEvent(item);
  if (wire !== undefined) {
    return {
      fields: wire.fields,
      violations: (at) => eventViolations(wire.fields, at),
      record: () => wireEventRecord(wire),
    };
  }
  try {
    return decodedEvent(fromBinary(EventSchema, item));
  } catch (err) {
    return `is not a valid ${EventSchema.typeName}: ${(err as Error).message}`;
  }
}

function decodedEvent(event: Event): ReadEvent {
  return { fields: event, violations: (at) => decodedEventViolations(event, at), record: () => toEventRecord(event) };
}
