import { create } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import {
  type IngestEventResponse as ClientEventResponse,
  IngestEventResponseSchema as ClientEventResponseSchema,
} from "../../../gen/chaukas/spec/client/v1/client_pb.ts";
import type { Event } from "../../../gen/chaukas/spec/common/v1/events_pb.ts";
import {
  type IngestEventResponse as ServerEventResponse,
  IngestEventResponseSchema as ServerEventResponseSchema,
} from "../../../gen/chaukas/spec/server/v1/server_pb.ts";
import type { EventService } from "../../core/event-service.ts";
import type { Metrics } from "../../lib/metrics.ts";
import { principalOf } from "./auth.ts";
import { mapDomainErrors } from "./connect-errors.ts";

/** An IngestEventRequest of either spec service, its event decoded or still bytes. */
export interface EventRequest {
  event?: Event | Uint8Array;
}

/** An IngestEvent handler for either form of the request. */
export type EventHandler<Res> = (req: EventRequest, ctx: HandlerContext) => Promise<Res>;

/** IngestEvent, answering with the event's id and when it was stored. */
export function serverIngestEvent(events: EventService, metrics: Metrics): EventHandler<ServerEventResponse> {
  return (req, ctx) =>
    mapDomainErrors(async () => {
      metrics.eventsReceived(ctx.protocolName, 1);
      const eventId = await events.ingestEvent(principalOf(ctx), req.event);
      return create(ServerEventResponseSchema, { eventId, status: "accepted", processedAt: BigInt(Date.now()) });
    });
}

/** IngestEvent with the client package's empty response. */
export function clientIngestEvent(events: EventService, metrics: Metrics): EventHandler<ClientEventResponse> {
  return (req, ctx) =>
    mapDomainErrors(async () => {
      metrics.eventsReceived(ctx.protocolName, 1);
      await events.ingestEvent(principalOf(ctx), req.event);
      return create(ClientEventResponseSchema);
    });
}
