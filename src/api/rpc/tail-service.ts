import { create } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import {
  TailEnd_Reason,
  type TailEventsRequest,
  type TailEventsResponse,
  TailEventsResponseSchema,
  type TailService,
} from "../../../gen/chaukas/backend/v1/tail_pb.ts";
import { storedEventForJson, writeStoredEvent } from "../../core/event-record.ts";
import { encodeTailCursor } from "../../core/tail/tail-cursor.ts";
import type { TailHub } from "../../core/tail/tail-hub.ts";
import type { EndReason, TailItem } from "../../core/tail/tail-stream.ts";
import type { StoredEvent } from "../../store/event-store.ts";
import { principalOf } from "./auth.ts";
import { isBinaryBody } from "./binary-rpc.ts";
import { connectErrorOf } from "./connect-errors.ts";

const END_REASONS: Record<EndReason, TailEnd_Reason> = {
  "time-limit": TailEnd_Reason.TIME_LIMIT,
  "slow-subscriber": TailEnd_Reason.SLOW_SUBSCRIBER,
  shutdown: TailEnd_Reason.SHUTDOWN,
};

/** chaukas.backend.v1.TailService: a stream of the hub's items until it ends or the client goes. */
export function tailServiceHandlers(hub: TailHub): ServiceImpl<typeof TailService> {
  return {
    async *tailEvents(req: TailEventsRequest, ctx: HandlerContext): AsyncGenerator<TailEventsResponse> {
      const stream = await hub.open(principalOf(ctx), req.filter, req.cursor).catch((err) => {
        throw connectErrorOf(err);
      });
      const binary = isBinaryBody(ctx.requestHeader.get("content-type") ?? undefined);
      try {
        for (let item = await stream.next(ctx.signal); item; item = await stream.next(ctx.signal)) {
          yield response(item, binary);
        }
      } finally {
        stream.close();
      }
    },
  };
}

/** An item as its response; for binary codecs an event's stored bytes go out as they are (see eventRecord). */
function response(item: TailItem, binary: boolean): TailEventsResponse {
  const cursor = encodeTailCursor(item.position);
  switch (item.kind) {
    case "event": {
      const stored: StoredEvent = { eventId: item.position.eventId, timestampNs: 0n, payload: item.payload };
      if (binary)
        return Object.assign(create(TailEventsResponseSchema, { cursor }), { $unknown: [eventRecord(stored)] });
      return create(TailEventsResponseSchema, { item: { case: "event", value: storedEventForJson(stored) }, cursor });
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

/**
 * The `event` field as a raw protobuf record, which protobuf-es writes as it is: the same bytes
 * as the decoded event would encode to, without decoding it (as encodedQueryResponse does). The
 * message reads as having no event, so only a binary answer may carry it.
 */
function eventRecord(stored: StoredEvent) {
  const data = writeStoredEvent(new BinaryWriter().fork(), stored).join().finish();
  return { no: TailEventsResponseSchema.field.event.number, wireType: WireType.LengthDelimited, data };
}
