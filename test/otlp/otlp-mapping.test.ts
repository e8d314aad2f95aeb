import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { Author, type Event, EventStatus, EventType, Severity } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import { AnyValueSchema } from "../../gen/opentelemetry/proto/common/v1/common_pb.ts";
import { LogRecordSchema } from "../../gen/opentelemetry/proto/logs/v1/logs_pb.ts";
import { SpanSchema, Status_StatusCode } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.ts";
import { UNRESTRICTED } from "../../src/core/access.ts";
import { anyValueToJson } from "../../src/core/otlp/attributes.ts";
import { DEFAULT_TENANT, exportScope } from "../../src/core/otlp/export-scope.ts";
import { logEvents } from "../../src/core/otlp/log-events.ts";
import { derivedEventId } from "../../src/core/otlp/otlp-ids.ts";
import { spanEvents } from "../../src/core/otlp/span-events.ts";
import { chatSpan, stringAttribute } from "./otlp-requests.ts";

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
const scope = (sessions = new Map<string, string>()) =>
  exportScope(UNRESTRICTED, { attributes: [stringAttribute("service.name", "svc")] } as never, undefined, sessions);
const attrs = (values: Record<string, string | number>) =>
  Object.entries(values).map(([key, v]) =>
    typeof v === "string"
      ? stringAttribute(key, v)
      : { key, value: { value: { case: "intValue" as const, value: BigInt(v) } } },
  );
function mapped(attributes: Record<string, string | number>, init: Parameters<typeof chatSpan>[0] = {}): Event[] {
  const events = spanEvents(create(SpanSchema, chatSpan({ attributes: attrs(attributes), ...init })), scope());
  if (typeof events === "string") throw new Error(events);
  return events;
}
const types = (events: Event[]) => events.map((e) => e.type);

describe("the OTLP span mapping", () => {
  it("maps an OpenInference LLM root span: input, model call with tokens, output, session and tags", () => {
    const events = mapped({
      "openinference.span.kind": "LLM",
      "llm.model_name": "claude-sonnet",
      "llm.provider": "anthropic",
      "llm.token_count.prompt": 30,
      "llm.token_count.completion": 5,
      "llm.token_count.total": 35,
      "input.value": "What is 2+2?",
      "output.value": "4",
      "session.id": "s-1",
    });
    expect(types(events)).toEqual([
      EventType.INPUT_RECEIVED,
      EventType.MODEL_INVOCATION_START,
      EventType.MODEL_INVOCATION_END,
      EventType.OUTPUT_EMITTED,
    ]);
    expect(events.every((e) => e.sessionId === "s-1" && e.tenantId === DEFAULT_TENANT && e.projectId === "svc")).toBe(
      true,
    );
    expect(events[0]).toMatchObject({
      author: Author.USER,
      content: { case: "message", value: { text: "What is 2+2?" } },
    });
    expect(events[3]).toMatchObject({ author: Author.AGENT, content: { case: "message", value: { text: "4" } } });
    expect(events[2].content.value).toMatchObject({
      provider: "anthropic",
      model: "claude-sonnet",
      promptTokens: 30,
      completionTokens: 5,
      totalTokens: 35,
      request: { messages: "What is 2+2?" },
    });
  });

  it("takes the role in order: chaukas.event_type, OpenInference kind, GenAI operation, MCP, tool, model", () => {
    expect(
      types(mapped({ "chaukas.event_type": "EVENT_TYPE_TOOL_CALL_START", "openinference.span.kind": "LLM" })),
    ).toEqual([EventType.TOOL_CALL_START, EventType.TOOL_CALL_END]);
    const chain = mapped({ "openinference.span.kind": "CHAIN", "gen_ai.operation.name": "chat" });
    expect(types(chain)).toEqual([EventType.SYSTEM]);
    expect(chain[0].metadata?.otel).toMatchObject({ mapped_from: "openinference.span.kind=CHAIN" });
    expect(types(mapped({ "gen_ai.operation.name": "execute_tool", "mcp.method.name": "tools/call" }))).toEqual([
      EventType.MCP_CALL_START,
      EventType.MCP_CALL_END,
    ]);
    expect(types(mapped({ "gen_ai.tool.name": "x" }))).toEqual([EventType.TOOL_CALL_START, EventType.TOOL_CALL_END]);
    expect(types(mapped({ "llm.model_name": "m" }))).toEqual([
      EventType.MODEL_INVOCATION_START,
      EventType.MODEL_INVOCATION_END,
    ]);
    expect(types(mapped({ "gen_ai.operation.name": "create_agent" }))).toEqual([EventType.SYSTEM]);
    expect(types(mapped({}, { attributes: [] }))).toEqual([EventType.SYSTEM]);
    expect(mapped({ "openinference.span.kind": "EMBEDDING" })[0].tags).toEqual(["otel", "embedding"]);
  });

  it("maps retrievers to DATA_ACCESS with their documents, and guardrails to POLICY_DECISION", () => {
    const retrieval = mapped({
      "openinference.span.kind": "RETRIEVER",
      "retrieval.documents.0.document.id": "doc-a",
      "retrieval.documents.1.document.id": "doc-b",
      "gen_ai.data_source.id": "kb-1",
    });
    expect(retrieval).toHaveLength(1);
    expect(retrieval[0]).toMatchObject({
      type: EventType.DATA_ACCESS,
      content: { case: "dataAccess", value: { datasource: "kb-1", documentIds: ["doc-a", "doc-b"] } },
    });
    const blocked = mapped(
      { "openinference.span.kind": "GUARDRAIL" },
      { name: "pii-filter", status: { code: Status_StatusCode.ERROR, message: "PII found" } },
    );
    expect(blocked[0]).toMatchObject({
      type: EventType.POLICY_DECISION,
      status: EventStatus.FAILED,
      severity: Severity.ERROR,
      content: { case: "policy", value: { policyId: "pii-filter", outcome: "blocked", rationale: "PII found" } },
    });
  });

  it("gives a span without a session its trace's session, else the trace id", () => {
    const span = create(SpanSchema, chatSpan());
    const traceId = hex(span.traceId);
    const named = spanEvents(span, scope(new Map([[traceId, "conversation-9"]]))) as Event[];
    expect(named.map((e) => e.sessionId)).toEqual(["conversation-9", "conversation-9"]);
    const unnamed = spanEvents(span, scope()) as Event[];
    expect(unnamed.map((e) => e.sessionId)).toEqual([traceId, traceId]);
  });

  it("derives the same UUID (version 8) for the same span and part, and different ones otherwise", () => {
    const id = derivedEventId("t", "s", "start");
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(derivedEventId("t", "s", "start")).toBe(id);
    expect(derivedEventId("t", "s", "end")).not.toBe(id);
    expect(derivedEventId("t", "s2", "start")).not.toBe(id);
  });

  it("writes attribute values proto3 JSON can hold: large ints and non-finite doubles as text, bytes as base64", () => {
    const value = (v: Parameters<typeof create<typeof AnyValueSchema>>[1]) => anyValueToJson(create(AnyValueSchema, v));
    expect(value({ value: { case: "intValue", value: 2n ** 62n } })).toBe("4611686018427387904");
    expect(value({ value: { case: "intValue", value: 42n } })).toBe(42);
    expect(value({ value: { case: "doubleValue", value: Number.NaN } })).toBe("NaN");
    expect(value({ value: { case: "bytesValue", value: new Uint8Array([1, 2]) } })).toBe("AQI=");
    expect(
      value({
        value: {
          case: "kvlistValue",
          value: { values: [{ key: "a", value: { value: { case: "arrayValue", value: { values: [] } } } }] },
        },
      }),
    ).toEqual({ a: [] });
  });
});

describe("the OTLP log record mapping", () => {
  const record = (init: Parameters<typeof create<typeof LogRecordSchema>>[1]) =>
    logEvents(create(LogRecordSchema, { timeUnixNano: 1_764_662_400_000_000_000n, ...init }), scope()) as Event[];

  it("maps GenAI message events to input and output, with the span they belong to", () => {
    const traceId = new Uint8Array(16).fill(7);
    const spanId = new Uint8Array(8).fill(9);
    const user = record({
      eventName: "gen_ai.user.message",
      traceId,
      spanId,
      body: { value: { case: "stringValue", value: "hi" } },
    });
    expect(user).toHaveLength(1);
    expect(user[0]).toMatchObject({
      type: EventType.INPUT_RECEIVED,
      traceId: hex(traceId),
      spanId: hex(spanId),
      sessionId: hex(traceId),
      content: { case: "message", value: { role: "user", text: "hi" } },
    });
    const details = record({
      eventName: "gen_ai.client.inference.operation.details",
      attributes: attrs({
        "gen_ai.input.messages": '[{"role":"user"}]',
        "gen_ai.output.messages": '[{"role":"assistant"}]',
      }),
    });
    expect(types(details)).toEqual([EventType.INPUT_RECEIVED, EventType.OUTPUT_EMITTED]);
    expect(details[1].content.value).toMatchObject({ role: "assistant", text: '[{"role":"assistant"}]' });
  });

  it("maps an error record to ERROR, any other to SYSTEM, with the same id when sent again", () => {
    const body = { value: { case: "stringValue" as const, value: "disk full" } };
    const error = record({ severityNumber: 17, severityText: "ERROR", body });
    expect(error[0]).toMatchObject({
      type: EventType.ERROR,
      severity: Severity.ERROR,
      status: EventStatus.FAILED,
      content: { case: "error", value: { errorMessage: "disk full", errorCode: "ERROR" } },
    });
    expect(record({ severityNumber: 17, severityText: "ERROR", body })[0].eventId).toBe(error[0].eventId);
    const info = record({ severityNumber: 9, body });
    expect(info[0]).toMatchObject({ type: EventType.SYSTEM, severity: Severity.INFO });
    expect(info[0].eventId).not.toBe(error[0].eventId);
  });

  it("refuses a record without any time, or with a malformed trace id", () => {
    expect(logEvents(create(LogRecordSchema, {}), scope())).toBe(
      "time_unix_nano (or observed_time_unix_nano) is required",
    );
    expect(record({ traceId: new Uint8Array(3) })).toBe("trace_id/span_id: must be 16 bytes, got 3");
  });
});
