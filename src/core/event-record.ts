import { clone, type DescField, fromBinary } from "@bufbuild/protobuf";
import { type Event, EventSchema } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import { canonicalBinary } from "../codec/canonical-binary.ts";
import { eventUsage } from "../codec/event-usage.ts";
import { jsonWritable, withNonFiniteNumbersRestored } from "../codec/json-unwritable.ts";
import { searchText } from "../codec/search-text.ts";
import { lengthDelimitedTag, varintBytes, writeVarint } from "../codec/varint.ts";
import { WireReader } from "../codec/wire-reader.ts";
import { sha256 } from "../lib/bytes.ts";
import { timestampToNs } from "../lib/timestamps.ts";
import type { EventRecord, StoredEvent } from "../store/event-store.ts";
import { checkpointId } from "./audit/checkpoint.ts";
import type { WireEvent } from "./event-wire.ts";

/**
 * Maps a validated event to what the store keeps: index columns plus the whole message in its
 * canonical encoding with the integrity fields empty, whose SHA-256 is the event's content hash.
 * The server fills hash_prev, content_hash and worm_proof_id when the event is read.
 */
export function toEventRecord(event: Event): EventRecord {
  return eventRecord(event, canonicalPayload(event));
}

/** The same record for an event read from its wire bytes, whose fields have been validated. */
export function wireEventRecord({ fields, payload }: WireEvent): EventRecord {
  return eventRecord(fields, payload);
}

/**
 * The record ingest made of a stored event, again, from its payload (the canonical encoding): what
 * its index columns must hold.
 */
export function storedEventRecord(payload: Uint8Array): EventRecord {
  return eventRecord(fromBinary(EventSchema, payload), payload);
}

function eventRecord(event: WireEvent["fields"], payload: Uint8Array): EventRecord {
  return {
    tenantId: event.tenantId,
    eventId: event.eventId,
    projectId: event.projectId,
    sessionId: event.sessionId,
    traceId: event.traceId,
    spanId: event.spanId,
    agentId: event.agentId,
    type: event.type,
    status: event.status,
    severity: event.severity,
    // biome-ignore lint/style/noNonNullAssertion: validated by eventViolations
    timestampNs: timestampToNs(event.timestamp!),
    tags: event.tags,
    searchText: searchText(event),
    usage: eventUsage(event),
    payload,
    contentHash: sha256(payload),
  };
}

/** The bytes content_hash is the SHA-256 of: the canonical encoding with the integrity fields empty. */
export function canonicalPayload(event: Event): Uint8Array {
  // Most events arrive without them: encoded as they are, since copying the message cost a
  // quarter of the encoding.
  if (event.hashPrev === "" && event.contentHash === "" && event.wormProofId === "") {
    return canonicalBinary(EventSchema, event);
  }
  return canonicalBinary(EventSchema, { ...event, hashPrev: "", contentHash: "", wormProofId: "" });
}

/**
 * The content hash of an event read back from JSON (an export): the SHA-256 of its canonical
 * encoding or, when that is not the hash the event claims, of the encoding with its Value strings
 * "NaN", "Infinity" and "-Infinity" as the numbers JSON wrote them for (json-unwritable.ts).
 */
export function contentHashFromJson(event: Event): Uint8Array {
  const hash = sha256(canonicalPayload(event));
  const claimed = event.contentHash.toLowerCase();
  if (claimed === "" || hash.toString("hex") === claimed) return hash;
  const restored = sha256(canonicalPayload(withNonFiniteNumbersRestored(EventSchema, clone(EventSchema, event))));
  return restored.toString("hex") === claimed ? restored : hash;
}

/**
 * What is wrong with the event's own content_hash, set by a client that hashes what it sends;
 * undefined when it is empty or agrees with the record's (hex, either case).
 */
export function contentHashProblem(event: Pick<Event, "contentHash">, record: EventRecord): string | undefined {
  if (event.contentHash === "") return undefined; // most clients send none: no hex to make
  const actual = Buffer.from(record.contentHash).toString("hex");
  if (event.contentHash.toLowerCase() === actual) return undefined;
  return `does not match the event: the SHA-256 of its canonical encoding is ${actual}`;
}

/** A stored event as served: the message with its integrity fields filled from its log entry. */
export function fromStoredEvent(row: StoredEvent): Event {
  const event = fromBinary(EventSchema, row.payload);
  const integrity = integrityFields(row);
  if (integrity) Object.assign(event, integrity);
  return event;
}

/**
 * A stored event as served in JSON: fromStoredEvent, changed where proto3 JSON cannot write it
 * (json-unwritable.ts): NaN and ±Infinity Value numbers as strings, extensions it cannot unpack
 * as empty.
 */
export function storedEventForJson(row: StoredEvent): Event {
  return jsonWritable(EventSchema, fromStoredEvent(row));
}

/**
 * Writes a stored event as served, in protobuf binary, at `at` of `into` (storedEventLength bytes);
 * returns the offset after it. The bytes are those `toBinary(EventSchema, fromStoredEvent(row))`
 * gives, made without decoding the payload: decoding and encoding again cost more than the
 * database's part of a query. The payload is the canonical encoding, fields in number order, with
 * the integrity fields empty, so they are written into their place: before the first field
 * numbered above them.
 */
export function writeStoredEvent(into: Buffer, at: number, row: StoredEvent): number {
  const integrity = integrityFields(row);
  if (!integrity) {
    into.set(row.payload, at);
    return at + row.payload.byteLength;
  }
  // Fields 1 to 20 are all known, so unknown fields (written after the known ones) are above them too.
  const split = offsetOfFieldAbove(row.payload, EventSchema.field.wormProofId.number);
  into.set(row.payload.subarray(0, split), at);
  let next = at + split;
  next = writeStringField(into, next, EventSchema.field.hashPrev, integrity.hashPrev);
  next = writeStringField(into, next, EventSchema.field.contentHash, integrity.contentHash);
  next = writeStringField(into, next, EventSchema.field.wormProofId, integrity.wormProofId);
  into.set(row.payload.subarray(split), next);
  return next + row.payload.byteLength - split;
}

/** How many bytes writeStoredEvent writes for the row. */
export function storedEventLength(row: StoredEvent): number {
  const integrity = integrityFields(row);
  if (!integrity) return row.payload.byteLength;
  return (
    row.payload.byteLength +
    stringFieldLength(EventSchema.field.hashPrev, integrity.hashPrev) +
    stringFieldLength(EventSchema.field.contentHash, integrity.contentHash) +
    stringFieldLength(EventSchema.field.wormProofId, integrity.wormProofId)
  );
}

/** A string field's bytes: tag, length and UTF-8; none for "", which proto3 leaves out. */
function stringFieldLength(field: DescField, value: string): number {
  if (value === "") return 0;
  const bytes = Buffer.byteLength(value);
  return varintBytes(lengthDelimitedTag(field.number)) + varintBytes(bytes) + bytes;
}

function writeStringField(into: Buffer, at: number, field: DescField, value: string): number {
  if (value === "") return at;
  let next = writeVarint(into, at, lengthDelimitedTag(field.number));
  next = writeVarint(into, next, Buffer.byteLength(value));
  return next + into.write(value, next);
}

type IntegrityFields = Pick<Event, "hashPrev" | "contentHash" | "wormProofId">;

function integrityFields(row: StoredEvent): IntegrityFields | undefined {
  const entry = row.logEntry;
  if (!entry) return undefined;
  return {
    hashPrev: entry.hashPrev,
    contentHash: entry.contentHash,
    wormProofId: entry.checkpointSize === undefined ? "" : checkpointId(entry.checkpointSize),
  };
}

/** Where the first top-level field numbered above `fieldNo` starts in `bytes`; their length if none does. */
function offsetOfFieldAbove(bytes: Uint8Array, fieldNo: number): number {
  const reader = new WireReader(bytes);
  while (reader.pos < reader.end) {
    const start = reader.pos;
    const tag = reader.tag();
    if (tag >>> 3 > fieldNo) return start;
    if (tag < 0 || reader.skip(tag & 7) < 0) throw new Error("a stored payload is not well-formed protobuf");
  }
  return bytes.byteLength;
}
