import type { DescMethodUnary } from "@bufbuild/protobuf";
import type { ConnectRouter } from "@connectrpc/connect";
import { IngestEventBatchWireSchema } from "../../../gen/chaukas/backend/v1/ingest_wire_pb.ts";
import { ChaukasClientService } from "../../../gen/chaukas/spec/client/v1/client_pb.ts";
import { ChaukasServerService } from "../../../gen/chaukas/spec/server/v1/server_pb.ts";
import type { EventService } from "../../core/event-service.ts";
import type { Metrics } from "../../lib/metrics.ts";
import { clientIngestBatch, serverIngestBatch } from "./ingest-batch.ts";
import type { RejectionLog } from "./rejection-log.ts";

/**
 * Both services' IngestEventBatch methods, reading the request as chaukas.backend.v1.IngestEventBatchWire:
 * the same wire format, with each event left as its bytes for the event service to read.
 * Registered for binary requests only (server.ts): in JSON an event is an object, not base64.
 */
export function wireIngestRoutes(
  router: ConnectRouter,
  events: EventService,
  log: RejectionLog,
  metrics: Metrics,
): void {
  router.rpc(asWire(ChaukasServerService.method.ingestEventBatch), serverIngestBatch(events, log, metrics));
  router.rpc(asWire(ChaukasClientService.method.ingestEventBatch), clientIngestBatch(events, log, metrics));
}

function asWire<Res extends DescMethodUnary["output"]>(
  method: DescMethodUnary<DescMethodUnary["input"], Res>,
): DescMethodUnary<typeof IngestEventBatchWireSchema, Res> {
  return { ...method, input: IngestEventBatchWireSchema };
}
