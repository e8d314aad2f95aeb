import { create, fromBinary } from "@bufbuild/protobuf";
import { EventSchema, type RedactionInfo, RedactionInfoSchema } from "../../../gen/chaukas/spec/common/v1/events_pb.ts";
import type { EventRecord } from "../../store/event-store.ts";
import { toEventRecord } from "../event-record.ts";
import { type HashKey, mayApply, type Redaction, type RedactionDone, redactEvent } from "./redactor.ts";

/**
 * The record to store for a validated event: the same one when the rules find nothing to redact,
 * else the record of the redacted event, whose canonical encoding (and so content hash and audit
 * log leaf) is the redacted one. The event's bytes are decoded only when they may hold a match.
 */
export function redactedRecord(redaction: Redaction, record: EventRecord): EventRecord {
  if (!mayApply(redaction, record.payload)) return record;
  const event = fromBinary(EventSchema, record.payload);
  const done = redactEvent(redaction, event);
  if (done === undefined) return record;
  event.redaction = redactionInfo(event.redaction, done, redaction.hashKey);
  return toEventRecord(event);
}

/** RedactionInfo: what the client said it redacted, and what the server did. */
function redactionInfo(sent: RedactionInfo | undefined, done: RedactionDone, hashKey?: HashKey): RedactionInfo {
  const methods = new Set([...(sent?.method ? sent.method.split(",") : []), ...done.methods]);
  return create(RedactionInfoSchema, {
    fields: [...(sent?.fields ?? []), ...done.fields],
    // One method, or (when several were used) each of them, comma-separated, in a fixed order.
    method: ["mask", "hash", "drop"].filter((m) => methods.has(m as never)).join(","),
    saltId: done.methods.has("hash") && hashKey ? hashKey.saltId : (sent?.saltId ?? ""),
  });
}
