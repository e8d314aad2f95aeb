import {
  create,
  type DescMessage,
  fromBinary,
  type JsonValue,
  type MessageShape,
  toBinary,
  toJson,
} from "@bufbuild/protobuf";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import {
  ExportLogsServiceRequestSchema,
  ExportLogsServiceResponseSchema,
} from "../../../gen/opentelemetry/proto/collector/logs/v1/logs_service_pb.ts";
import {
  ExportTraceServiceRequestSchema,
  ExportTraceServiceResponseSchema,
} from "../../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.ts";
import { logsRequestFromOtlpJson, OtlpJsonError, traceRequestFromOtlpJson } from "../../codec/formats/otlp-json.ts";
import type { OtlpIngest } from "../../core/otlp/otlp-ingest.ts";
import { InvalidArgumentError } from "../../lib/errors.ts";
import { principalOfRequest } from "../http/http-auth.ts";
import { isOtlpJson, otlpBodyBytes } from "./otlp-body.ts";
import { otlpErrorHandler } from "./otlp-errors.ts";

export interface OtlpRoutesOptions {
  otlp: OtlpIngest;
  /** Largest body accepted, compressed or once gunzipped. */
  maxBodyBytes: number;
}

const OTLP_TYPES = ["application/x-protobuf", "application/json"];

/**
 * OTLP/HTTP (opentelemetry-proto docs/specification.md): `POST /v1/traces` and `/v1/logs` with a
 * protobuf or OTLP JSON export request, optionally gzipped, answered in the same encoding; other
 * content types are refused (415). Register it with Fastify's `prefix` to serve them under a path.
 */
export async function otlpRoutes(app: FastifyInstance, { otlp, maxBodyBytes }: OtlpRoutesOptions): Promise<void> {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(OTLP_TYPES, { parseAs: "buffer", bodyLimit: maxBodyBytes }, (_req, body, done) =>
    done(null, body),
  );
  otlpErrorHandler(app, { maxBodyBytes, types: OTLP_TYPES });
  // The request gate (http-auth.ts) reserves this route's limit in the body budget.
  const route = { bodyLimit: maxBodyBytes, config: { maxBodyBytes } };

  app.post("/v1/traces", route, async (request, reply) => {
    const json = await decodeBody(request, maxBodyBytes);
    const exportRequest =
      json === undefined
        ? decodeBinary(ExportTraceServiceRequestSchema, request.body as Buffer)
        : readJson(() => traceRequestFromOtlpJson(json), ExportTraceServiceRequestSchema);
    const { rejected, errorMessage } = await otlp.exportTraces(principalOfRequest(request), exportRequest);
    const partialSuccess = rejected > 0 ? { rejectedSpans: BigInt(rejected), errorMessage } : undefined;
    return answer(request, reply, ExportTraceServiceResponseSchema, { partialSuccess });
  });

  app.post("/v1/logs", route, async (request, reply) => {
    const json = await decodeBody(request, maxBodyBytes);
    const exportRequest =
      json === undefined
        ? decodeBinary(ExportLogsServiceRequestSchema, request.body as Buffer)
        : readJson(() => logsRequestFromOtlpJson(json), ExportLogsServiceRequestSchema);
    const { rejected, errorMessage } = await otlp.exportLogs(principalOfRequest(request), exportRequest);
    const partialSuccess = rejected > 0 ? { rejectedLogRecords: BigInt(rejected), errorMessage } : undefined;
    return answer(request, reply, ExportLogsServiceResponseSchema, { partialSuccess });
  });
}

/** Gunzips the body in place; returns it parsed when it is JSON, undefined when it is protobuf. */
async function decodeBody(request: FastifyRequest, maxBodyBytes: number): Promise<JsonValue | undefined> {
  request.body = await otlpBodyBytes(request, maxBodyBytes);
  if (!isOtlpJson(request)) return undefined;
  try {
    return JSON.parse((request.body as Buffer).toString("utf8")) as JsonValue;
  } catch (err) {
    throw new InvalidArgumentError([{ field: "body", description: `is not valid JSON: ${(err as Error).message}` }]);
  }
}

function decodeBinary<Desc extends DescMessage>(schema: Desc, body: Buffer): MessageShape<Desc> {
  try {
    return fromBinary(schema, body);
  } catch (err) {
    throw new InvalidArgumentError([
      { field: "body", description: `is not a valid ${schema.typeName}: ${(err as Error).message}` },
    ]);
  }
}

function readJson<T>(read: () => T, schema: DescMessage): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof OtlpJsonError) throw new InvalidArgumentError([{ field: err.path, description: err.problem }]);
    throw new InvalidArgumentError([
      { field: "body", description: `is not a valid ${schema.typeName}: ${(err as Error).message}` },
    ]);
  }
}

/** The export response in the request's encoding. */
function answer<Desc extends DescMessage>(
  request: FastifyRequest,
  reply: FastifyReply,
  schema: Desc,
  init: Parameters<typeof create<Desc>>[1],
) {
  const response = create(schema, init);
  if (isOtlpJson(request)) return reply.type("application/json").send(toJson(schema, response));
  return reply.type("application/x-protobuf").send(Buffer.from(toBinary(schema, response)));
}
