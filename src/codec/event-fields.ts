import { EventSchema } from "../../gen/chaukas/spec/common/v1/events_pb.ts";

/**
 * The Event fields that ingest checks and the store keeps beside the payload, by local name: the
 * one list of them. event-rules.ts checks the ids, event-wire.ts reads them all from the wire,
 * the EventRecord (store/event-store.ts) holds the indexed ones, and store/sql/event-columns.ts
 * writes each to the column of its proto name. The record's other columns are made from fields:
 * ts_ns from timestamp, tags, and the search text (search-text.ts).
 */

/** Ids every event has. All are indexed. */
export const REQUIRED_IDS = ["eventId", "tenantId", "projectId", "sessionId"] as const;

/** Ids an event may leave empty. */
export const OPTIONAL_IDS = ["spanId", "parentSpanId", "traceId", "agentId"] as const;

/** Ids in an index column: the required ones, and optional ones stored as NULL when empty. */
export const INDEXED_IDS = [...REQUIRED_IDS, "traceId", "spanId", "agentId"] as const satisfies readonly (
  | (typeof REQUIRED_IDS)[number]
  | (typeof OPTIONAL_IDS)[number]
)[];

/** Enums in an index column. */
export const INDEXED_ENUMS = ["type", "status", "severity"] as const;

export type IndexedId = (typeof INDEXED_IDS)[number];
export type IndexedEnum = (typeof INDEXED_ENUMS)[number];

/** Whether an id may be empty, its column then NULL. */
export function isOptionalId(name: string): boolean {
  return (OPTIONAL_IDS as readonly string[]).includes(name);
}

/** An Event field's proto name (`tenant_id`), which is also its index column's name. */
export function protoName(localName: keyof typeof EventSchema.field): string {
  return EventSchema.field[localName].name;
}
