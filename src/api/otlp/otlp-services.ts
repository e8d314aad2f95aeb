import { create } from "@bufbuild/protobuf";
import type { ConnectRouter } from "@connectrpc/connect";
import {
  ExportLogsServiceResponseSchema,
  LogsService,
} from "../../../gen/opentelemetry/proto/collector/logs/v1/logs_service_pb.ts";
import {
  ExportTraceServiceResponseSchema,
  TraceService,
} from "../../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.ts";
import type { OtlpIngest } from "../../core/otlp/otlp-ingest.ts";
import { principalOf } from "../rpc/auth.ts";
import { mapDomainErrors } from "../rpc/connect-errors.ts";

/** OTLP/gRPC: the collector's TraceService and LogsService Export methods, on the one port. */
export function otlpServices(router: ConnectRouter, otlp: OtlpIngest): void {
  router.service(TraceService, {
    export: (request, ctx) =>
      mapDomainErrors(async () => {
        const { rejected, errorMessage } = await otlp.exportTraces(principalOf(ctx), request);
        const partialSuccess = rejected > 0 ? { rejectedSpans: BigInt(rejected), errorMessage } : undefined;
        return create(ExportTraceServiceResponseSchema, { partialSuccess });
      }),
  });
  router.service(LogsService, {
    export: (request, ctx) =>
      mapDomainErrors(async () => {
        const { rejected, errorMessage } = await otlp.exportLogs(principalOf(ctx), request);
        const partialSuccess = rejected > 0 ? { rejectedLogRecords: BigInt(rejected), errorMessage } : undefined;
        return create(ExportLogsServiceResponseSchema, { partialSuccess });
      }),
  });
}
