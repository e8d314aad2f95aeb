import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { ChaukasClientService, IngestEventResponseSchema } from "../../../gen/chaukas/spec/client/v1/client_pb.ts";
import type { EventService } from "../../core/event-service.ts";
import type { Metrics } from "../../lib/metrics.ts";
import { principalOf } from "./auth.ts";
import { mapDomainErrors } from "./connect-errors.ts";
import { clientIngestBatch } from "./ingest-batch.ts";
import type { RejectionLog } from "./rejection-log.ts";
import { sharedHandlers } from "./shared-handlers.ts";

/**
 * chaukas.spec.client.v1.ChaukasClientService: the same use cases as the server service, with the
 * client package's empty ingest responses (a rejected batch event is only logged here).
 */
export function clientServiceHandlers(
  events: EventService,
  log: RejectionLog,
  metrics: Metrics,
): ServiceImpl<typeof ChaukasClientService> {
  return {
    ...sharedHandlers(ChaukasClientService, events),

    ingestEvent: (req, ctx) =>
      mapDomainErrors(async () => {
        metrics.eventsReceived(ctx.protocolName, 1);
        await events.ingestEvent(principalOf(ctx), req.event);
        return create(IngestEventResponseSchema);
      }),

    ingestEventBatch: clientIngestBatch(events, log, metrics),
  };
}
