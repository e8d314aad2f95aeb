import { createHash } from "node:crypto";
import { fromBinary } from "@bufbuild/protobuf";
import { type Event, EventSchema } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import type { EventRecord, StoredEvent } from "../store/event-store.ts";
import { checkpointId } from "./audit/audit-trail.ts";
import { canonicalBinary } from "./audit/canonical-binary.ts";
import { searchText } from "./search-text.ts";
import { timestampToNs } from "./timestamps.ts";

/**
 * Maps a validated event to what the store keeps: index columns plus the whole message in its
 * canonical encoding with the integrity fields empty, whose SHA-256 is the event's content hash.
 * The server fills hash_prev, content_hash and worm_proof_id when the event is read.
 */
export function toEventRecord(event: Event): EventRecord {
  const payload = canonicalPayload(event);
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
    payload,
    contentHash: createHash("sha256").update(payload).digest(),
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
 * What is wrong with the event's own content_hash, set by a client that hashes what it sends;
 * undefined when it is empty or agrees with the record's (hex, either case).
 */
export function contentHashProblem(event: Event, record: EventRecord): string | undefined {
  if (event.contentHash === "") return undefined; // most clients send none: no hex to make
  const actual = Buffer.from(record.contentHash).toString("hex");
  if (event.contentHash.toLowerCase() === actual) return undefined;
  return `does not match the event: the SHA-256 of its canonical encoding is ${actual}`;
}

/** A stored event as served: the message with its integrity fields filled from its log entry. */
export function fromStoredEvent(row: StoredEvent): Event {
  const event = fromBinary(EventSchema, row.payload);
  const entry = row.logEntry;
  if (entry) {
    event.contentHash = Buffer.from(entry.contentHash).toString("hex");
    event.hashPrev = Buffer.from(entry.hashPrev).toString("hex");
    event.wormProofId = entry.checkpointSize === undefined ? "" : checkpointId(entry.checkpointSize);
  }
  return event;
}
