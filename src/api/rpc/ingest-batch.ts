import { create } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import {
  type IngestEventBatchResponse as ClientBatchResponse,
  IngestEventBatchResponseSchema as ClientBatchResponseSchema,
} from "../../../gen/chaukas/spec/client/v1/client_pb.ts";
import type { Event } from "../../../gen/chaukas/spec/common/v1/events_pb.ts";
import {
  type IngestEventBatchResponse as ServerBatchResponse,
  IngestEventBatchResponseSchema as ServerBatchResponseSchema,
} from "../../../gen/chaukas/spec/server/v1/server_pb.ts";
import type { EventService } from "../../core/event-service.ts";
import type { Metrics } from "../../lib/metrics.ts";
import { principalOf } from "./auth.ts";
import { mapDomainErrors } from "./connect-errors.ts";
import { logRejections, type RejectionLog } from "./rejection-log.ts";

/** An IngestEventBatchRequest of either spec service, its events decoded or still bytes. */
export interface BatchRequest {
  eventBatch?: { batchId: string; events: readonly (Event | Uint8Array)[] };
}

/** An ingest batch handler for either form of the request. */
export type BatchHandler<Res> = (req: BatchRequest, ctx: HandlerContext) => Promise<Res>;

/** IngestEventBatch, answering with the accepted and rejected counts and the rejected ids. */
export function serverIngestBatch(
  events: EventService,
  log: RejectionLog,
  metrics: Metrics,
): BatchHandler<ServerBatchResponse> {
  return (req, ctx) =>
    mapDomainErrors(async () => {
      const batch = req.eventBatch;
      metrics.eventsReceived(ctx.protocolName, batch?.events.length ?? 0);
      const outcome = await events.ingestBatch(principalOf(ctx), batch?.events ?? []);
      logRejections(log, batch?.batchId ?? "", outcome.rejected);
      return create(ServerBatchResponseSchema, {
        batchId: batch?.batchId,
        acceptedCount: outcome.acceptedCount,
        rejectedCount: outcome.rejected.length,
        rejectedEventIds: outcome.rejected.map((r) => r.eventId),
      });
    });
}

/** IngestEventBatch with the client package's empty response: rejected events are only logged. */
export function clientIngestBatch(
  events: EventService,
  log: RejectionLog,
  metrics: Metrics,
): BatchHandler<ClientBatchResponse> {
  return (req, ctx) =>
    mapDomainErrors(async () => {
      metrics.eventsReceived(ctx.protocolName, req.eventBatch?.events.length ?? 0);
      const outcome = await events.ingestBatch(principalOf(ctx), req.eventBatch?.events ?? []);
      logRejections(log, req.eventBatch?.batchId ?? "", outcome.rejected);
      return create(ClientBatchResponseSchema);
    });
}
