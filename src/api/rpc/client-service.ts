import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  type ChaukasClientService,
  GetCapabilitiesResponseSchema,
  HealthzResponseSchema,
  type IngestEventBatchResponse,
  IngestEventBatchResponseSchema,
  IngestEventResponseSchema,
  QueryEventsResponseSchema,
} from "../../../gen/chaukas/spec/client/v1/client_pb.ts";
import type { EventService } from "../../core/event-service.ts";
import { principalOf } from "./auth.ts";
import { mapDomainErrors } from "./connect-errors.ts";
import { queryResponseFor } from "./query-response.ts";
import { logRejections, type RejectionLog } from "./rejection-log.ts";
import type { BatchHandler } from "./wire-ingest.ts";

/**
 * chaukas.spec.client.v1.ChaukasClientService: the same use cases as the server service, with the
 * client package's empty ingest responses (a rejected batch event is only logged here).
 */
export function clientServiceHandlers(
  events: EventService,
  log: RejectionLog,
): ServiceImpl<typeof ChaukasClientService> {
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
        return create(IngestEventResponseSchema);
      }),

    ingestEventBatch: clientIngestBatch(events, log),

    queryEvents: (req, ctx) =>
      mapDomainErrors(async () =>
        create(QueryEventsResponseSchema, {
          response: queryResponseFor(ctx, await events.queryEvents(principalOf(ctx), req.query)),
        }),
      ),
  };
}

/** IngestEventBatch with the client package's empty response: rejected events are only logged. */
export function clientIngestBatch(events: EventService, log: RejectionLog): BatchHandler<IngestEventBatchResponse> {
  return (req, ctx) =>
    mapDomainErrors(async () => {
      const outcome = await events.ingestBatch(principalOf(ctx), req.eventBatch?.events ?? []);
      logRejections(log, req.eventBatch?.batchId ?? "", outcome.rejected);
      return create(IngestEventBatchResponseSchema);
    });
}
