import { create } from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import {
  TailEnd_Reason,
  TailEventBatchSchema,
  type TailEventsResponse,
  TailEventsResponseSchema,
} from "../../../gen/chaukas/backend/v1/tail_pb.ts";
import { lengthDelimitedTag, varintBytes, writeVarint } from "../../codec/varint.ts";
import { storedEventForJson } from "../../core/event-record.ts";
import { encodeTailCursor } from "../../core/tail/tail-cursor.ts";
import type { EndReason, TailItem } from "../../core/tail/tail-stream.ts";
import type { TailEvent } from "../../store/event-store.ts";

const END_REASONS: Record<EndReason, TailEnd_Reason> = {
  "time-limit": TailEnd_Reason.TIME_LIMIT,
  "slow-subscriber": TailEnd_Reason.SLOW_SUBSCRIBER,
  shutdown: TailEnd_Reason.SHUTDOWN,
};

/** How a subscriber takes a tail's items: events one a response (`event`) or in batches (`events`); binary or JSON. */
export interface TailAnswer {
  batches: boolean;
  binary: boolean;
}

/**
 * An item as its response. For binary codecs the events' stored bytes go out as they are (ADR
 * 0007): a tail's event carries no log entry, so its encoding is its stored payload.
 */
export function tailResponse(item: TailItem, answer: TailAnswer): TailEventsResponse {
  const cursor = encodeTailCursor(item.position);
  switch (item.kind) {
    case "events": {
      if (answer.binary) {
        const record = answer.batches ? batchRecord(item.events) : eventRecord(item.events[0]);
        return Object.assign(create(TailEventsResponseSchema, { cursor }), { $unknown: [record] });
      }
      const events = item.events.map(eventForJson);
      return create(TailEventsResponseSchema, {
        item: answer.batches ? { case: "events", value: { events } } : { case: "event", value: events[0] },
        cursor,
      });
    }
    case "heartbeat":
      return create(TailEventsResponseSchema, { item: { case: "heartbeat", value: { time: timestampNow() } }, cursor });
    case "end":
      return create(TailEventsResponseSchema, {
        item: { case: "end", value: { reason: END_REASONS[item.reason] } },
        cursor,
      });
  }
}

const eventForJson = (event: TailEvent) =>
  storedEventForJson({ eventId: event.position.eventId, timestampNs: 0n, payload: event.payload });

/*
 * Raw protobuf records, which protobuf-es writes as they are after their tag: the same bytes as the
 * decoded events would encode to, without decoding them (as queryEventsAnswer does). The
 * message reads as having no event, so only a binary answer may carry them.
 */

/** The `event` field: its length, then the event. */
function eventRecord(event: TailEvent) {
  const { payload } = event;
  const data = new Uint8Array(varintBytes(payload.byteLength) + payload.byteLength);
  data.set(payload, writeVarint(data, 0, payload.byteLength));
  return { no: TailEventsResponseSchema.field.event.number, wireType: WireType.LengthDelimited, data };
}

const BATCH_EVENT_TAG = lengthDelimitedTag(TailEventBatchSchema.field.events.number);

/** The `events` field, built at its exact size: its length, then each event as a TailEventBatch's `events`. */
function batchRecord(events: readonly TailEvent[]) {
  let batchBytes = 0;
  for (const { payload } of events) batchBytes += 1 + varintBytes(payload.byteLength) + payload.byteLength;
  const data = new Uint8Array(varintBytes(batchBytes) + batchBytes);
  let at = writeVarint(data, 0, batchBytes);
  for (const { payload } of events) {
    data[at++] = BATCH_EVENT_TAG;
    at = writeVarint(data, at, payload.byteLength);
    data.set(payload, at);
    at += payload.byteLength;
  }
  return { no: TailEventsResponseSchema.field.events.number, wireType: WireType.LengthDelimited, data };
}
