import type { DescMessage, DescMethodUnary, MessageShape } from "@bufbuild/protobuf";
import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import {
  IngestEventBatchWireSchema,
  type IngestEventWire,
  IngestEventWireSchema,
} from "../../../gen/chaukas/backend/v1/ingest_wire_pb.ts";
import { ChaukasClientService } from "../../../gen/chaukas/spec/client/v1/client_pb.ts";
import { ChaukasServerService } from "../../../gen/chaukas/spec/server/v1/server_pb.ts";
import type { EventService } from "../../core/event-service.ts";
import { requestEventBytes } from "../../core/event-wire.ts";
import type { Metrics } from "../../lib/metrics.ts";
import type { DirectUnary } from "./direct-unary.ts";
import { clientIngestBatch, serverIngestBatch } from "./ingest-batch.ts";
import { clientIngestEvent, type EventHandler, serverIngestEvent } from "./ingest-event.ts";
import type { RejectionLog } from "./rejection-log.ts";

/**
 * Both services' IngestEvent and IngestEventBatch methods, reading the requests as their wire
 * twins (chaukas.backend.v1.IngestEventWire, IngestEventBatchWire): the same wire format, with
 * each event left as its bytes for the event service to read. Registered for binary requests only
 * (server.ts): in JSON an event is an object, not base64. IngestEvent of the common shapes is
 * answered by `direct`, as the spec routes' unary calls are.
 */
export function wireIngestRoutes(
  router: ConnectRouter,
  events: EventService,
  log: RejectionLog,
  metrics: Metrics,
  direct: DirectUnary,
): void {
  router.rpc(
    asWire(ChaukasServerService.method.ingestEventBatch, IngestEventBatchWireSchema),
    serverIngestBatch(events, log, metrics),
  );
  router.rpc(
    asWire(ChaukasClientService.method.ingestEventBatch, IngestEventBatchWireSchema),
    clientIngestBatch(events, log, metrics),
  );
  wireIngestEvent(router, direct, ChaukasServerService.method.ingestEvent, serverIngestEvent(events, metrics));
  wireIngestEvent(router, direct, ChaukasClientService.method.ingestEvent, clientIngestEvent(events, metrics));
}

function wireIngestEvent<Res extends DescMessage>(
  router: ConnectRouter,
  direct: DirectUnary,
  method: DescMethodUnary<DescMessage, Res>,
  handler: EventHandler<MessageShape<Res>>,
): void {
  const wire = asWire(method, IngestEventWireSchema);
  const impl = (req: IngestEventWire, ctx: HandlerContext) => handler({ event: requestEventBytes(req.event) }, ctx);
  direct.addMethod(wire, impl);
  router.rpc(wire, impl);
}

function asWire<In extends DescMessage, Res extends DescMessage>(
  method: DescMethodUnary<DescMessage, Res>,
  input: In,
): DescMethodUnary<In, Res> {
  return { ...method, input };
}
