import { Metadata } from "@grpc/grpc-js";
import { ExportResultCode } from "@opentelemetry/core";
import { OTLPTraceExporter as GrpcExporter } from "@opentelemetry/exporter-trace-otlp-grpc";
import { OTLPTraceExporter as JsonExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as ProtoExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Author,
  type Event,
  EventStatus,
  EventType,
  EventTypeSchema,
  Severity,
} from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import { derivedEventId } from "../../src/core/otlp/otlp-ids.ts";
import { storeKinds } from "../support/databases.ts";
import { genAiRun } from "./genai-spans.ts";
import { type OtlpTestServer, PROJECT, startOtlpServer, TENANT } from "./otlp-server.ts";

/** Each OTLP exporter of the OpenTelemetry JS SDK, pointed at the server with the ingest key. */
const EXPORTERS: Record<string, (server: OtlpTestServer) => SpanExporter> = {
  "http/protobuf": (s) =>
    new ProtoExporter({ url: `${s.baseUrl}/v1/traces`, headers: { authorization: `Bearer ${s.ingestKey}` } }),
  "http/json": (s) => new JsonExporter({ url: `${s.baseUrl}/v1/traces`, headers: { "x-api-key": s.ingestKey } }),
  grpc: (s) => {
    const metadata = new Metadata();
    metadata.set("authorization", `Bearer ${s.ingestKey}`);
    return new GrpcExporter({ url: s.baseUrl, metadata });
  },
};

function send(exporter: SpanExporter, spans: ReadableSpan[]): Promise<void> {
  return new Promise((resolve, reject) =>
    exporter.export(spans, (result) =>
      result.code === ExportResultCode.SUCCESS ? resolve() : reject(result.error ?? new Error("export failed")),
    ),
  );
}

describe.each(await storeKinds())("OpenTelemetry exporters into the %s store", (kind) => {
  let server: OtlpTestServer;
  beforeAll(async () => {
    server = await startOtlpServer(kind);
  });
  afterAll(() => server.close());

  describe.each(Object.keys(EXPORTERS))("with the %s exporter", (protocol) => {
    it("stores each GenAI span as its events, every mapped field filled, and absorbs the export sent again", async () => {
      const run = await genAiRun(`svc-${protocol}`);
      const exporter = EXPORTERS[protocol](server);
      await send(exporter, run.spans);
      await send(exporter, run.spans);
      await exporter.shutdown();

      const events = await server.query({ sessionId: run.conversationId });
      const of = (spanId: string) => events.filter((e) => e.spanId === spanId);
      const one = (spanId: string, type: EventType) => {
        const found = of(spanId).filter((e) => e.type === type);
        expect(found, `${EventTypeSchema.value[type]?.name} of span ${spanId}`).toHaveLength(1);
        return found[0];
      };
      // 2 events for each of 5 spans, and the exception: sent twice, stored once.
      expect(events).toHaveLength(11);
      for (const event of events) {
        expect(event).toMatchObject({ tenantId: TENANT, projectId: PROJECT, traceId: run.traceId });
        expect(event.tags).toContain("otel");
        expect(event.metadata?.otel).toMatchObject({ resource: { "service.name": `svc-${protocol}` } });
      }

      const agentStart = one(run.agent, EventType.AGENT_START);
      const agentEnd = one(run.agent, EventType.AGENT_END);
      expect(agentStart.eventId).toBe(derivedEventId(run.traceId, run.agent, "start"));
      expect(agentEnd.eventId).toBe(derivedEventId(run.traceId, run.agent, "end"));
      for (const e of [agentStart, agentEnd]) {
        expect(e).toMatchObject({ agentId: "agent-7", agentName: "planner", author: Author.AGENT, parentSpanId: "" });
        expect(e.metadata?.otel).toMatchObject({
          span_name: "invoke_agent planner",
          mapped_from: "gen_ai.operation.name=invoke_agent",
          attributes: { "app.flavour": "vanilla" },
        });
      }
      expect(agentStart).toMatchObject({ status: EventStatus.STARTED, severity: Severity.INFO });
      expect(agentEnd).toMatchObject({ status: EventStatus.COMPLETED, severity: Severity.INFO });

      const chatStart = one(run.chat, EventType.MODEL_INVOCATION_START);
      const chatEnd = one(run.chat, EventType.MODEL_INVOCATION_END);
      expect(chatEnd).toMatchObject({ parentSpanId: run.agent, author: Author.LLM, responseId: "chatcmpl-42" });
      expect(chatStart.content.case).toBe("llmInvocation");
      expect(chatStart.content.value).toMatchObject({ provider: "openai", model: "gpt-4o", temperature: 0.25 });
      expect(chatEnd.content.case).toBe("llmInvocation");
      const llm = chatEnd.content.value as Extract<Event["content"], { case: "llmInvocation" }>["value"];
      expect(llm).toMatchObject({
        provider: "openai",
        model: "gpt-4o-2024-08-06",
        temperature: 0.25,
        maxTokens: 256,
        topP: 0.5,
        promptTokens: 12,
        completionTokens: 7,
        totalTokens: 19,
        finishReason: "stop",
      });
      expect(llm.request).toEqual({ messages: [{ role: "user", parts: [{ type: "text", content: "Weather?" }] }] });
      expect(llm.response).toEqual({ messages: [{ role: "assistant", parts: [{ type: "text", content: "Sunny" }] }] });
      expect(llm.durationMs).toBeGreaterThanOrEqual(0);

      const toolStart = one(run.tool, EventType.TOOL_CALL_START);
      const toolEnd = one(run.tool, EventType.TOOL_CALL_END);
      expect(toolStart.content).toMatchObject({
        case: "toolCall",
        value: { id: "call-1", name: "get_weather", arguments: { city: "Paris" } },
      });
      expect(toolEnd.content).toMatchObject({
        case: "toolResponse",
        value: { toolCallId: "call-1", output: { celsius: 21 }, errorMessage: "" },
      });
      expect(toolEnd.author).toBe(Author.TOOL);

      const mcpEnd = one(run.mcp, EventType.MCP_CALL_END);
      one(run.mcp, EventType.MCP_CALL_START);
      expect(mcpEnd.content).toMatchObject({
        case: "mcpCall",
        value: {
          method: "tools/call",
          operation: "search",
          protocolVersion: "2025-06-18",
          serverName: "mcp.example.com",
        },
      });
      expect(mcpEnd.metadata?.otel).toMatchObject({ attributes: { "mcp.session.id": "mcp-session-1" } });

      one(run.failing, EventType.MODEL_INVOCATION_START);
      const failedEnd = one(run.failing, EventType.MODEL_INVOCATION_END);
      expect(failedEnd).toMatchObject({ status: EventStatus.FAILED, severity: Severity.ERROR });
      const error = one(run.failing, EventType.ERROR);
      expect(error).toMatchObject({ status: EventStatus.FAILED, severity: Severity.ERROR });
      expect(error.content).toMatchObject({
        case: "error",
        value: { errorMessage: "the model refused", errorCode: "TypeError" },
      });
      expect((error.content.value as { stackTrace: string }).stackTrace).toContain("TypeError: the model refused");
    });
  });
});
