import { create } from "@bufbuild/protobuf";
import { BinaryReader } from "@bufbuild/protobuf/wire";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { context, trace } from "@opentelemetry/api";
import { OTLPLogExporter } from "@opentelemetry/exporter-logs-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { LoggerProvider, SimpleLogRecordProcessor } from "@opentelemetry/sdk-logs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventType, Severity } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import {
  ExportLogsServiceRequestSchema,
  LogsService,
} from "../../gen/opentelemetry/proto/collector/logs/v1/logs_service_pb.ts";
import { TraceService } from "../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.ts";
import { RETRY_INFO_TYPE } from "../../src/codec/rpc-status.ts";
import { IngestGate } from "../../src/core/ingest-gate.ts";
import { storeKinds } from "../support/databases.ts";
import { chatSpan, post, readRpcStatus, traceRequest, traceRequestBytes } from "./otlp-requests.ts";
import { type OtlpTestServer, startOtlpServer } from "./otlp-server.ts";

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

/** A gRPC (HTTP/2) client of one OTLP collector service, sending the key as exporters do. */
function grpcClient<S extends typeof TraceService | typeof LogsService>(
  service: S,
  server: OtlpTestServer,
  key: string,
) {
  const transport = createGrpcTransport({
    baseUrl: server.baseUrl,
    interceptors: [
      (next) => (request) => {
        request.header.set("authorization", `Bearer ${key}`);
        return next(request);
      },
    ],
  });
  return createClient(service, transport);
}

describe.each(await storeKinds())("OTLP protocol behaviour on the %s store", (kind) => {
  let server: OtlpTestServer;
  beforeAll(async () => {
    server = await startOtlpServer(kind, { otlp: { maxBodyBytes: 4 * 1024 * 1024, pathPrefix: "/otlp" } });
  });
  afterAll(() => server.close());

  it("serves OTLP/HTTP under the path prefix, and only there", async () => {
    const span = chatSpan();
    const headers = { "content-type": "application/x-protobuf", authorization: `Bearer ${server.ingestKey}` };
    expect((await post(`${server.baseUrl}/otlp/v1/traces`, traceRequestBytes([span]), headers)).status).toBe(200);
    expect((await post(`${server.baseUrl}/v1/traces`, traceRequestBytes([chatSpan()]), headers)).status).toBe(404);
    expect(await server.query({ traceId: hex(span.traceId as Uint8Array) })).toHaveLength(2);
  });

  it("answers OTLP/gRPC exports with partial success naming the refused span", async () => {
    const good = chatSpan();
    const bad = chatSpan({ spanId: new Uint8Array(3) });
    const client = grpcClient(TraceService, server, server.ingestKey);
    const response = await client.export(traceRequest([good, bad]));
    expect(response.partialSuccess?.rejectedSpans).toBe(1n);
    expect(response.partialSuccess?.errorMessage).toContain("spans[1]");
    expect(response.partialSuccess?.errorMessage).toContain("span_id must be 8 bytes, got 3");
    expect(await server.query({ traceId: hex(good.traceId as Uint8Array) })).toHaveLength(2);
  });

  it("refuses an OTLP/gRPC export without a valid key", async () => {
    const client = grpcClient(TraceService, server, "chk_not_a_key");
    const err = await client.export(traceRequest([chatSpan()])).catch((e) => ConnectError.from(e));
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.Unauthenticated);
  });

  it("stores GenAI log records of the OpenTelemetry logs SDK beside their span, over OTLP/HTTP", async () => {
    const exporter = new OTLPLogExporter({
      url: `${server.baseUrl}/otlp/v1/logs`,
      headers: { authorization: `Bearer ${server.ingestKey}` },
    });
    const provider = new LoggerProvider({
      resource: resourceFromAttributes({ "service.name": "log-svc" }),
      processors: [new SimpleLogRecordProcessor({ exporter })],
    });
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const spanId = "00f067aa0ba902b7";
    const inSpan = trace.setSpanContext(context.active(), { traceId, spanId, traceFlags: 1 });
    const logger = provider.getLogger("genai");
    logger.emit({ eventName: "gen_ai.user.message", body: "Book a table", severityNumber: 9, context: inSpan });
    logger.emit({ eventName: "gen_ai.choice", body: "Booked for 8pm", severityNumber: 9, context: inSpan });
    logger.emit({ body: "the booking API timed out", severityNumber: 17, severityText: "ERROR", context: inSpan });
    await provider.forceFlush();
    await provider.shutdown();

    const events = await server.query({ traceId });
    expect(events.map((e) => [e.type, e.spanId, e.sessionId]).toSorted()).toEqual(
      [
        [EventType.INPUT_RECEIVED, spanId, traceId],
        [EventType.OUTPUT_EMITTED, spanId, traceId],
        [EventType.ERROR, spanId, traceId],
      ].toSorted(),
    );
    const byType = new Map(events.map((e) => [e.type, e]));
    expect(byType.get(EventType.INPUT_RECEIVED)?.content).toMatchObject({
      case: "message",
      value: { role: "user", text: "Book a table" },
    });
    expect(byType.get(EventType.OUTPUT_EMITTED)?.content).toMatchObject({ value: { text: "Booked for 8pm" } });
    expect(byType.get(EventType.ERROR)).toMatchObject({
      severity: Severity.ERROR,
      content: { case: "error", value: { errorMessage: "the booking API timed out" } },
    });
  });

  it("answers OTLP/gRPC log exports, with partial success for a record without a time", async () => {
    const client = grpcClient(LogsService, server, server.ingestKey);
    const response = await client.export(
      create(ExportLogsServiceRequestSchema, {
        resourceLogs: [
          { scopeLogs: [{ logRecords: [{ body: { value: { case: "stringValue", value: "no time" } } }] }] },
        ],
      }),
    );
    expect(response.partialSuccess?.rejectedLogRecords).toBe(1n);
    expect(response.partialSuccess?.errorMessage).toContain("time_unix_nano (or observed_time_unix_nano) is required");
  });
});

describe.each(await storeKinds())("OTLP under backpressure on the %s store", (kind) => {
  let server: OtlpTestServer;
  beforeAll(async () => {
    // Room for one event at a time: any span (two events) is over the bound.
    server = await startOtlpServer(kind, {}, new IngestGate({ maxInFlightEvents: 1, maxHeapBytes: 2 ** 40 }));
  });
  afterAll(() => server.close());

  it("answers OTLP/HTTP with 503 and Retry-After, which exporters retry, and stores nothing", async () => {
    const span = chatSpan();
    const headers = { "content-type": "application/x-protobuf", authorization: `Bearer ${server.ingestKey}` };
    const answer = await post(`${server.baseUrl}/v1/traces`, traceRequestBytes([span]), headers);
    expect(answer.status).toBe(503);
    expect(answer.headers.get("retry-after")).toBe("1");
    expect(readRpcStatus(answer.bytes)).toMatchObject({ code: Code.ResourceExhausted });
    expect(await server.query({ traceId: hex(span.traceId as Uint8Array) })).toHaveLength(0);
  });

  it("answers OTLP/gRPC with resource_exhausted carrying RetryInfo", async () => {
    const err = await grpcClient(TraceService, server, server.ingestKey)
      .export(traceRequest([chatSpan()]))
      .catch((e) => ConnectError.from(e));
    expect((err as ConnectError).code).toBe(Code.ResourceExhausted);
    const [detail] = (err as ConnectError).details;
    expect(detail && "type" in detail ? detail.type : undefined).toBe(RETRY_INFO_TYPE);
    // RetryInfo { retry_delay: Duration { seconds: 1 } }
    const retryInfo = new BinaryReader((detail as { value: Uint8Array }).value);
    expect(retryInfo.tag()).toEqual([1, 2]);
    const delay = new BinaryReader(retryInfo.bytes());
    expect(delay.tag()).toEqual([1, 0]);
    expect(delay.int64()).toBe(1n);
  });
});
