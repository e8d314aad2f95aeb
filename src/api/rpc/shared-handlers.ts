import { create } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { ChaukasClientService } from "../../../gen/chaukas/spec/client/v1/client_pb.ts";
import type { ChaukasServerService } from "../../../gen/chaukas/spec/server/v1/server_pb.ts";
import type { EventService } from "../../core/event-service.ts";
import { principalOf } from "./auth.ts";
import { mapDomainErrors } from "./connect-errors.ts";
import { queryEventsAnswer } from "./query-events-answer.ts";

type SpecService = typeof ChaukasServerService | typeof ChaukasClientService;
type Shared = "healthz" | "getCapabilities" | "queryEvents";

/**
 * The handlers both spec services share: the same use cases, each answering with its own
 * package's response message (the two packages' messages have the same fields).
 */
export function sharedHandlers<S extends SpecService>(service: S, events: EventService): Pick<ServiceImpl<S>, Shared> {
  const method = service.method as SpecService["method"];
  const handlers = {
    healthz: () =>
      mapDomainErrors(async () => {
        await events.checkHealth();
        return create(method.healthz.output);
      }),

    getCapabilities: (_: unknown, ctx: HandlerContext) =>
      mapDomainErrors(async () =>
        create(method.getCapabilities.output, { capabilities: await events.capabilities(principalOf(ctx)) }),
      ),

    queryEvents: (req: { query?: Parameters<EventService["queryEvents"]>[1] }, ctx: HandlerContext) =>
      mapDomainErrors(async () =>
        queryEventsAnswer(method.queryEvents.output, ctx, await events.queryEvents(principalOf(ctx), req.query)),
      ),
  };
  // Each answer is the message of `service`: TypeScript cannot tie the two unions together.
  return handlers as unknown as Pick<ServiceImpl<S>, Shared>;
}
