import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  type ChaukasServerService,
  GetCapabilitiesResponseSchema,
  GetEventStatsResponseSchema,
  HealthzResponseSchema,
  IngestEventResponseSchema,
  QueryEventsResponseSchema,
} from "../../../gen/chaukas/spec/server/v1/server_pb.ts";
import type { EventService } from "../../core/event-service.ts";
import { principalOf } from "./auth.ts";
import { mapDomainErrors } from "./connect-errors.ts";
import { serverIngestBatch } from "./ingest-batch.ts";
import { queryResponseFor } from "./query-response.ts";
import type { RejectionLog } from "./rejection-log.ts";

/** chaukas.spec.server.v1.ChaukasServerService: thin handlers over the EventService. */
export function serverServiceHandlers(
  events: EventService,
  log: RejectionLog,
): ServiceImpl<typeof ChaukasServerService> {
  return {
    healthz: () =>
      mapDomainErrors(async () => {
        await events.checkHealth();
        return create(HealthzResponseSchema);
      }),

    getCapabilities: (_, ctx) =>
      mapDomainErrors(async () =>
        create(GetCapabilitiesResponseSchema, { capabilities: events.capabilities(principalOf(ctx)) }),
      ),

    ingestEvent: (req, ctx) =>
      mapDomainErrors(async () => {
        await events.ingestEvent(principalOf(ctx), req.event);
        return create(IngestEventResponseSchema, {
          eventId: req.event?.eventId,
          status: "accepted",
          processedAt: BigInt(Date.now()),
        });
      }),

    ingestEventBatch: serverIngestBatch(events, log),

    queryEvents: (req, ctx) =>
      mapDomainErrors(async () =>
        create(QueryEventsResponseSchema, {
          response: queryResponseFor(ctx, await events.queryEvents(principalOf(ctx), req.query)),
        }),
      ),

    getEventStats: (req, ctx) =>
      mapDomainErrors(async () => create(GetEventStatsResponseSchema, await events.eventStats(principalOf(ctx), req))),
  };
}
