import type { ServiceImpl } from "@connectrpc/connect";
import { ChaukasClientService } from "../../../gen/chaukas/spec/client/v1/client_pb.ts";
import type { EventService } from "../../core/event-service.ts";
import type { Metrics } from "../../lib/metrics.ts";
import { clientIngestBatch } from "./ingest-batch.ts";
import { clientIngestEvent } from "./ingest-event.ts";
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

    ingestEvent: clientIngestEvent(events, metrics),

    ingestEventBatch: clientIngestBatch(events, log, metrics),
  };
}
