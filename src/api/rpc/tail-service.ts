import { create } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import {
  TailEnd_Reason,
  type TailEventsRequest,
  type TailEventsResponse,
  TailEventsResponseSchema,
  type TailService,
} from "../../../gen/chaukas/backend/v1/tail_pb.ts";
import { storedEventForJson } from "../../core/event-record.ts";
import { encodeTailCursor } from "../../core/tail/tail-cursor.ts";
import type { TailHub } from "../../core/tail/tail-hub.ts";
import type { EndReason, TailItem } from "../../core/tail/tail-stream.ts";
import { principalOf } from "./auth.ts";
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
      try {
        for (let item = await stream.next(ctx.signal); item; item = await stream.next(ctx.signal)) {
          yield response(item);
        }
      } finally {
        stream.close();
      }
    },
  };
}

function response(item: TailItem): TailEventsResponse {
  const cursor = encodeTailCursor(item.position);
  switch (item.kind) {
    case "event": {
      const event = storedEventForJson({ eventId: item.position.eventId, timestampNs: 0n, payload: item.payload });
      return create(TailEventsResponseSchema, { item: { case: "event", value: event }, cursor });
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
