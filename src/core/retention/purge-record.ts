import { randomUUID } from "node:crypto";
import { create, isFieldSet, type JsonObject } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  Author,
  type Event,
  EventSchema,
  EventStatus,
  EventType,
  RedactionInfoSchema,
  Severity,
} from "../../../gen/chaukas/spec/common/v1/events_pb.ts";

/**
 * How purges show in the log and in what is served. A purge record is an event of type
 * EVENT_TYPE_SYSTEM whose metadata key `chaukas_purge` says who purged what, when and why; a purged
 * event is served as its stub, whose metadata key `chaukas_purged` names that record and the reason,
 * and whose `redaction` lists the fields that went (method "purged").
 */

/** Every purge record's event id starts so; erasure and retention never take one. */
export const PURGE_RECORD_PREFIX = "chaukas-purge-";
/** The session purge records are filed under, in each project they purged events of. */
export const PURGE_SESSION = "chaukas-purges";
const RECORD_KEY = "chaukas_purge";
const MARK_KEY = "chaukas_purged";
export const PURGED_METHOD = "purged";

/** What a purged event keeps besides its leaf: where it was, what kind, and when. */
const KEPT_FIELDS = new Set([
  "eventId",
  "tenantId",
  "projectId",
  "sessionId",
  "type",
  "status",
  "severity",
  "timestamp",
]);

export type PurgeKind = "retention" | "erasure";

/** What a purge record says. */
export interface PurgeSummary {
  recordId: string;
  kind: PurgeKind;
  /** Who asked: an API key, the CLI's user, or the retention job. */
  by: string;
  /** Which policy or request, in words: never the data subject's identifier. */
  reason: string;
  at: string;
  eventIds: string[];
}

/** A new purge record of the tenant's project, for the events of `summary` (its recordId is made here). */
export function purgeRecordEvent(
  tenantId: string,
  projectId: string,
  at: Date,
  summary: Omit<PurgeSummary, "recordId" | "at">,
): Event {
  return create(EventSchema, {
    eventId: `${PURGE_RECORD_PREFIX}${randomUUID()}`,
    tenantId,
    projectId,
    sessionId: PURGE_SESSION,
    type: EventType.SYSTEM,
    status: EventStatus.COMPLETED,
    severity: Severity.INFO,
    author: Author.SYSTEM,
    timestamp: timestampFromDate(at),
    metadata: {
      [RECORD_KEY]: {
        kind: summary.kind,
        by: summary.by,
        reason: summary.reason,
        count: summary.eventIds.length,
        event_ids: summary.eventIds,
      },
    },
  });
}

/** What a purge record event says; undefined for any other event. */
export function purgeSummaryOf(event: Event): PurgeSummary | undefined {
  const record = event.metadata?.[RECORD_KEY];
  if (!event.eventId.startsWith(PURGE_RECORD_PREFIX) || event.type !== EventType.SYSTEM || !isObject(record)) {
    return undefined;
  }
  const ids = Array.isArray(record.event_ids) ? record.event_ids.filter((id) => typeof id === "string") : [];
  return {
    recordId: event.eventId,
    kind: record.kind === "erasure" ? "erasure" : "retention",
    by: String(record.by ?? ""),
    reason: String(record.reason ?? ""),
    at: event.timestamp ? timestampDate(event.timestamp).toISOString() : "",
    eventIds: ids,
  };
}

/** The stub that takes a purged event's place: what KEPT_FIELDS keeps, which record took the rest, and why. */
export function purgedStub(event: Event, recordId: string, reason: string): Event {
  const removed = EventSchema.fields
    .filter((field) => !KEPT_FIELDS.has(field.localName) && isFieldSet(event, field))
    .map((field) => field.name);
  return create(EventSchema, {
    eventId: event.eventId,
    tenantId: event.tenantId,
    projectId: event.projectId,
    sessionId: event.sessionId,
    type: event.type,
    status: event.status,
    severity: event.severity,
    timestamp: event.timestamp,
    redaction: create(RedactionInfoSchema, { fields: removed, method: PURGED_METHOD }),
    metadata: { [MARK_KEY]: { record: recordId, reason } },
  });
}

/** The record a served stub names, and why its event was purged; undefined for an intact event. */
export function purgeMarkOf(event: Event): { recordId: string; reason: string } | undefined {
  const mark = event.metadata?.[MARK_KEY];
  if (event.redaction?.method !== PURGED_METHOD || !isObject(mark) || typeof mark.record !== "string") return undefined;
  return { recordId: mark.record, reason: String(mark.reason ?? "") };
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
