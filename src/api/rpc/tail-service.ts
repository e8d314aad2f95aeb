import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { TailEventsRequest, TailEventsResponse, TailService } from "../../../gen/chaukas/backend/v1/tail_pb.ts";
import type { TailHub } from "../../core/tail/tail-hub.ts";
import { principalOf } from "./auth.ts";
import { isBinaryBody } from "./binary-rpc.ts";
import { connectErrorOf } from "./connect-errors.ts";
import { tailResponse } from "./tail-response.ts";

/**
 * chaukas.backend.v1.TailService: a stream of the hub's items until it ends or the client goes.
 * Each item is taken when connect asks for the next response, which it does while the response is
 * writable (it waits for "drain"): the events that arrived meanwhile go out together when the
 * subscriber asked for batches.
 */
export function tailServiceHandlers(hub: TailHub): ServiceImpl<typeof TailService> {
  return {
    async *tailEvents(req: TailEventsRequest, ctx: HandlerContext): AsyncGenerator<TailEventsResponse> {
      const batches = req.maxEventsPerMessage > 0;
      const stream = await hub
        .open(principalOf(ctx), req.filter, req.cursor, batches ? req.maxEventsPerMessage : 1)
        .catch((err) => {
          throw connectErrorOf(err);
        });
      const answer = { batches, binary: isBinaryBody(ctx.requestHeader.get("content-type") ?? undefined) };
      try {
        for (let item = await stream.next(ctx.signal); item; item = await stream.next(ctx.signal)) {
          yield tailResponse(item, answer);
        }
      } finally {
        stream.close();
      }
    },
  };
}
