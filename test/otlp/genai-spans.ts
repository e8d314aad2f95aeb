import { context, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";

/** The span ids of one agent run written by genAiRun, by role. */
export interface GenAiRun {
  traceId: string;
  agent: string;
  chat: string;
  tool: string;
  mcp: string;
  failing: string;
  conversationId: string;
  spans: ReadableSpan[];
}

/**
 * One agent run as the OpenTelemetry JS SDK records it, in the GenAI semantic conventions: an
 * agent span with a chat, a tool call, an MCP call and a chat that throws under it. The spans are
 * kept in memory, for a test to send with the exporter it tests.
 */
export async function genAiRun(serviceName: string): Promise<GenAiRun> {
  const memory = new InMemorySpanExporter();
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ "service.name": serviceName, "deployment.environment": "test" }),
    spanProcessors: [new SimpleSpanProcessor({ exporter: memory })],
  });
  const tracer = provider.getTracer("chaukas-otlp-test", "1.0.0");
  const conversationId = `conv-${Math.random().toString(36).slice(2, 10)}`;
  const agent = tracer.startSpan("invoke_agent planner", {
    kind: SpanKind.INTERNAL,
    attributes: {
      "gen_ai.operation.name": "invoke_agent",
      "gen_ai.agent.id": "agent-7",
      "gen_ai.agent.name": "planner",
      "gen_ai.conversation.id": conversationId,
      "app.flavour": "vanilla",
    },
  });
  const inAgent = trace.setSpan(context.active(), agent);
  const chat = tracer.startSpan(
    "chat gpt-4o",
    {
      kind: SpanKind.CLIENT,
      attributes: {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.request.temperature": 0.25,
        "gen_ai.request.max_tokens": 256,
        "gen_ai.request.top_p": 0.5,
        "gen_ai.response.model": "gpt-4o-2024-08-06",
        "gen_ai.response.id": "chatcmpl-42",
        "gen_ai.response.finish_reasons": ["stop"],
        "gen_ai.usage.input_tokens": 12,
        "gen_ai.usage.output_tokens": 7,
        "gen_ai.input.messages": JSON.stringify([{ role: "user", parts: [{ type: "text", content: "Weather?" }] }]),
        "gen_ai.output.messages": JSON.stringify([{ role: "assistant", parts: [{ type: "text", content: "Sunny" }] }]),
      },
    },
    inAgent,
  );
  chat.end();
  const tool = tracer.startSpan(
    "execute_tool get_weather",
    {
      attributes: {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "get_weather",
        "gen_ai.tool.call.id": "call-1",
        "gen_ai.tool.call.arguments": JSON.stringify({ city: "Paris" }),
        "gen_ai.tool.call.result": JSON.stringify({ celsius: 21 }),
      },
    },
    inAgent,
  );
  tool.end();
  const mcp = tracer.startSpan(
    "tools/call search",
    {
      kind: SpanKind.CLIENT,
      attributes: {
        "mcp.method.name": "tools/call",
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "search",
        "mcp.protocol.version": "2025-06-18",
        "mcp.session.id": "mcp-session-1",
        "server.address": "mcp.example.com",
      },
    },
    inAgent,
  );
  mcp.end();
  const failing = tracer.startSpan(
    "chat gpt-4o",
    { kind: SpanKind.CLIENT, attributes: { "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o" } },
    inAgent,
  );
  failing.recordException(new TypeError("the model refused"));
  failing.setStatus({ code: SpanStatusCode.ERROR, message: "the model refused" });
  failing.end();
  agent.end();
  await provider.forceFlush();
  return {
    traceId: agent.spanContext().traceId,
    agent: agent.spanContext().spanId,
    chat: chat.spanContext().spanId,
    tool: tool.spanContext().spanId,
    mcp: mcp.spanContext().spanId,
    failing: failing.spanContext().spanId,
    conversationId,
    spans: memory.getFinishedSpans(),
  };
}
