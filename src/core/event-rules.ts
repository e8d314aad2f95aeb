import type { DescEnum } from "@bufbuild/protobuf";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import {
  AuthorSchema,
  type Event,
  EventSchema,
  EventStatusSchema,
  EventType,
  EventTypeSchema,
  SeveritySchema,
} from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import { OPTIONAL_IDS, REQUIRED_IDS } from "../codec/event-fields.ts";
import { jsonUnwritableViolations } from "../codec/json-unwritable.ts";
import type { FieldViolation } from "../lib/errors.ts";
import { timestampProblem } from "../lib/timestamps.ts";
import { NUL_PROBLEM } from "./ids.ts";

/** Limits that keep one event's index entries bounded; the payload itself is bounded by the body limit. */
export const MAX_ID_LENGTH = 256;
export const MAX_TAGS = 64;
export const MAX_TAG_LENGTH = 256;

/**
 * The fields of an event that ingest checks: an Event, or the same fields read from its wire bytes
 * (event-wire.ts).
 */
export type IngestFields = Pick<
  Event,
  "eventId" | "tenantId" | "projectId" | "sessionId" | "spanId" | "parentSpanId" | "traceId" | "agentId"
> &
  Pick<Event, "type" | "status" | "severity" | "author" | "tags" | "contentHash"> & {
    timestamp?: Pick<Timestamp, "seconds" | "nanos">;
  };

/**
 * Checks one event against the rules of ingest. Returns every violation, each naming its field
 * by its proto name under `prefix` (`event.tenant_id`; `tenant_id` when the prefix is empty); an
 * empty list means it may be stored.
 */
export function eventViolations(event: IngestFields | undefined, prefix: string): FieldViolation[] {
  if (!event) return [{ field: prefix || "event", description: "is required" }];
  const violations: FieldViolation[] = [];
  const report = (field: string, description: string) =>
    violations.push({ field: prefix ? `${prefix}.${field}` : field, description });

  for (const key of REQUIRED_IDS) {
    if (event[key] === "") report(snakeCase(key), "is required");
  }
  for (const key of [...REQUIRED_IDS, ...OPTIONAL_IDS]) {
    if (event[key].length > MAX_ID_LENGTH) report(snakeCase(key), `is longer than ${MAX_ID_LENGTH} characters`);
    if (event[key].includes("\0")) report(snakeCase(key), NUL_PROBLEM);
  }
  if (event.type === EventType.UNSPECIFIED) report("type", "is required (not EVENT_TYPE_UNSPECIFIED)");
  checkEnum(event.type, EventTypeSchema, "type", report);
  checkEnum(event.status, EventStatusSchema, "status", report);
  checkEnum(event.severity, SeveritySchema, "severity", report);
  checkEnum(event.author, AuthorSchema, "author", report);
  if (!event.timestamp) {
    report("timestamp", "is required");
  } else {
    const problem = timestampProblem(event.timestamp);
    if (problem) report("timestamp", problem);
  }
  if (event.tags.length > MAX_TAGS) report("tags", `has more than ${MAX_TAGS} tags`);
  event.tags.forEach((tag, i) => {
    if (tag === "") report(`tags[${i}]`, "is empty");
    if (tag.length > MAX_TAG_LENGTH) report(`tags[${i}]`, `is longer than ${MAX_TAG_LENGTH} characters`);
    if (tag.includes("\0")) report(`tags[${i}]`, NUL_PROBLEM);
  });
  return violations;
}

/**
 * eventViolations, and what only the whole decoded event shows: what proto3 JSON cannot write
 * (json-unwritable.ts: NaN and ±Infinity Value numbers, extensions it cannot unpack), refused so
 * that every stored event can be read as JSON. An event read from its wire bytes holds none
 * (event-wire.ts).
 */
export function decodedEventViolations(event: Event | undefined, prefix: string): FieldViolation[] {
  const violations = eventViolations(event, prefix);
  if (event) violations.push(...jsonUnwritableViolations(EventSchema, event, prefix));
  return violations;
}

/** Proto3 enums are open: a number no value names decodes fine and must be refused here. */
function checkEnum(value: number, schema: DescEnum, field: string, report: (f: string, d: string) => void) {
  if (!schema.values.some((v) => v.number === value)) {
    report(field, `${value} is not a value of ${schema.typeName}`);
  }
}

export function snakeCase(camel: string): string {
  return camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
