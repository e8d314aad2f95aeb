import { randomBytes } from "node:crypto";
import { create, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { BinaryReader } from "@bufbuild/protobuf/wire";
import { ExportTraceServiceRequestSchema } from "../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.ts";
import type { SpanSchema } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.ts";

type SpanInit = MessageInitShape<typeof SpanSchema>;

/** A GenAI chat span of a fresh trace, for tests to alter. */
export function chatSpan(init: SpanInit = {}): SpanInit {
  const start = BigInt(Date.now()) * 1_000_000n;
  return {
    traceId: randomBytes(16),
    spanId: randomBytes(8),
    name: "chat gpt-4o",
    kind: 3,
    startTimeUnixNano: start,
    endTimeUnixNano: start + 250_000_000n,
    attributes: [
      { key: "gen_ai.operation.name", value: { value: { case: "stringValue", value: "chat" } } },
      { key: "gen_ai.request.model", value: { value: { case: "stringValue", value: "gpt-4o" } } },
    ],
    ...init,
  };
}

export function stringAttribute(key: string, value: string) {
  return { key, value: { value: { case: "stringValue" as const, value } } };
}

/** An export request of `spans` under one resource with `resource` attributes. */
export function traceRequest(spans: SpanInit[], resource: Record<string, string> = { "service.name": "svc" }) {
  return create(ExportTraceServiceRequestSchema, {
    resourceSpans: [
      {
        resource: { attributes: Object.entries(resource).map(([k, v]) => stringAttribute(k, v)) },
        scopeSpans: [{ scope: { name: "test" }, spans }],
      },
    ],
  });
}

export function traceRequestBytes(spans: SpanInit[], resource?: Record<string, string>): Uint8Array {
  return toBinary(ExportTraceServiceRequestSchema, traceRequest(spans, resource));
}

/** A google.rpc.Status body's code and message, read from its wire bytes. */
export function readRpcStatus(bytes: Uint8Array): { code: number; message: string } {
  const reader = new BinaryReader(bytes);
  const status = { code: 0, message: "" };
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1) status.code = reader.int32();
    else if (field === 2) status.message = reader.string();
    else reader.skip(wireType);
  }
  return status;
}

/** POSTs `body` to the server's `path` with the ingest key. */
export async function post(
  url: string,
  body: Uint8Array | string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Headers; bytes: Buffer; json: () => unknown }> {
  const response = await fetch(url, { method: "POST", headers, body });
  const bytes = Buffer.from(await response.arrayBuffer());
  return { status: response.status, headers: response.headers, bytes, json: () => JSON.parse(bytes.toString()) };
}
