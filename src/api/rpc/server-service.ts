import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { ChaukasServerService, GetEventStatsResponseSchema } from "../../../gen/chaukas/spec/server/v1/server_pb.ts";
import type { EventService } from "../../core/event-service.ts";
import type { Metrics } from "../../lib/metrics.ts";
import { principalOf } from "./auth.ts";
import { mapDomainErrors } from "./connect-errors.ts";
import { serverIngestBatch } from "./ingest-batch.ts";
import { serverIngestEvent } from "./ingest-event.ts";
import type { RejectionLog } from "./rejection-log.ts";
import { sharedHandlers } from "./shared-handlers.ts";

/** chaukas.spec.server.v1.ChaukasServerService: thin handlers over the EventService. */
export function serverServiceHandlers(
  events: EventService,
  log: RejectionLog,
  metrics: Metrics,
): ServiceImpl<typeof ChaukasServerService> {
  return {
    ...sharedHandlers(ChaukasServerService, events),

    ingestEvent: serverIngestEvent(events, metrics),

    ingestEventBatch: serverIngestBatch(events, log, metrics),

    getEventStats: (req, ctx) =>
      mapDomainErrors(async () => create(GetEventStatsResponseSchema, await events.eventStats(principalOf(ctx), req))),
  };
}
