import { SemanticConventions as OI } from "@arizeai/openinference-semantic-conventions";
import { create, type JsonObject } from "@bufbuild/protobuf";
import {
  Author,
  ErrorInfoSchema,
  type Event,
  EventSchema,
  EventStatus,
  EventType,
  MessageContentSchema,
  Severity,
} from "../../../gen/chaukas/spec/common/v1/events_pb.ts";
import {
  type Span,
  Span_SpanKindSchema,
  Status_StatusCode,
  Status_StatusCodeSchema,
} from "../../../gen/opentelemetry/proto/trace/v1/trace_pb.ts";
import { nsToTimestampParts } from "../../lib/timestamps.ts";
import { Attributes, anyValueToJson, MAX_ATTRIBUTE_CHARS, oversizedAttribute } from "./attributes.ts";
import type { ExportScope } from "./export-scope.ts";
import { derivedEventId, hexId, otlpIdProblem } from "./otlp-ids.ts";
import {
  ATTR_EXCEPTION_MESSAGE,
  ATTR_EXCEPTION_STACKTRACE,
  ATTR_EXCEPTION_TYPE,
  ATTR_GEN_AI_AGENT_ID,
  ATTR_GEN_AI_AGENT_NAME,
  ATTR_GEN_AI_RESPONSE_ID,
} from "./semconv.ts";
import { type Content, spanContent } from "./span-content.ts";
import { classifySpan, type SpanRole } from "./span-role.ts";

/** The event types of each role: a start and an end, or one event when the span ends. */
const ROLE_EVENTS: Record<SpanRole, { start?: EventType; end: EventType; author: Author }> = {
  model: { start: EventType.MODEL_INVOCATION_START, end: EventType.MODEL_INVOCATION_END, author: Author.LLM },
  tool: { start: EventType.TOOL_CALL_START, end: EventType.TOOL_CALL_END, author: Author.TOOL },
  mcp: { start: EventType.MCP_CALL_START, end: EventType.MCP_CALL_END, author: Author.TOOL },
  agent: { start: EventType.AGENT_START, end: EventType.AGENT_END, author: Author.AGENT },
  retrieval: { end: EventType.DATA_ACCESS, author: Author.SYSTEM },
  guardrail: { end: EventType.POLICY_DECISION, author: Author.SYSTEM },
  system: { end: EventType.SYSTEM, author: Author.SYSTEM },
};

const EXCEPTION_EVENT = "exception";

/**
 * One OTLP span as Chaukas events (docs/otlp.md): its start and end (or one event), an ERROR per
 * `exception` span event, and for a root span its input and output. Each event's id is derived
 * from the trace id, span id and its part. Returns why the span cannot be taken instead.
 */
export function spanEvents(span: Span, scope: ExportScope): Event[] | string {
  const problem =
    idProblem("trace_id", otlpIdProblem(span.traceId, 16)) ??
    idProblem("span_id", otlpIdProblem(span.spanId, 8)) ??
    idProblem("parent_span_id", otlpIdProblem(span.parentSpanId, 8, true));
  if (problem) return problem;
  const statusCode = span.status?.code ?? Status_StatusCode.UNSET;
  if (!Status_StatusCodeSchema.values.some((v) => v.number === statusCode)) {
    return `status.code ${statusCode} is not a ${Status_StatusCodeSchema.typeName}`;
  }
  if (span.startTimeUnixNano === 0n) return "start_time_unix_nano is required";
  if (span.endTimeUnixNano < span.startTimeUnixNano) return "end_time_unix_nano is before start_time_unix_nano";
  const oversized = oversizedAttribute(span.attributes);
  if (oversized) return `attribute "${oversized}" holds more than ${MAX_ATTRIBUTE_CHARS} characters`;

  const traceId = hexId(span.traceId);
  const spanId = hexId(span.spanId);
  const attributes = new Attributes(span.attributes);
  const classified = classifySpan(attributes);
  const failed = statusCode === Status_StatusCode.ERROR;
  const statusMessage = span.status?.message ?? "";
  const timing = {
    name: span.name,
    startMs: Number(span.startTimeUnixNano / 1_000_000n),
    endMs: Number(span.endTimeUnixNano / 1_000_000n),
    failed,
    statusMessage,
  };
  const content = spanContent(classified.role, attributes, timing);
  const roleEvents = ROLE_EVENTS[classified.role];
  const tags = [
    ...new Set([
      "otel",
      ...(classified.embedding ? ["embedding"] : []),
      ...attributes.strings(OI.TAG_TAGS).filter((tag) => tag !== ""),
    ]),
  ];
  const common = {
    tenantId: scope.tenantId,
    projectId: scope.projectId,
    sessionId: scope.sessionOf(traceId, attributes),
    traceId,
    spanId,
    parentSpanId: hexId(span.parentSpanId),
    agentId: attributes.firstString(ATTR_GEN_AI_AGENT_ID) ?? "",
    agentName: attributes.firstString(ATTR_GEN_AI_AGENT_NAME, OI.AGENT_NAME) ?? "",
    responseId: attributes.firstString(ATTR_GEN_AI_RESPONSE_ID) ?? "",
    tags,
  };
  const isRoot = span.parentSpanId.byteLength === 0;
  const input = isRoot ? attributes.string(OI.INPUT_VALUE) : undefined;
  const output = isRoot ? attributes.string(OI.OUTPUT_VALUE) : undefined;
  const metadata = spanMetadata(span, scope, classified.source, attributes);

  const event = (part: string, { timeNs, ...fields }: EventFields, body: Content) =>
    create(EventSchema, {
      ...common,
      ...fields,
      eventId: derivedEventId(traceId, spanId, part),
      timestamp: nsToTimestampParts(timeNs),
      content: body,
      metadata,
    });
  const events: Event[] = [];
  if (input !== undefined) {
    events.push(
      event(
        "input",
        { type: EventType.INPUT_RECEIVED, timeNs: span.startTimeUnixNano, author: Author.USER, ...done(false) },
        { case: "message", value: create(MessageContentSchema, { role: "user", text: input }) },
      ),
    );
  }
  if (roleEvents.start !== undefined) {
    events.push(
      event(
        "start",
        {
          type: roleEvents.start,
          timeNs: span.startTimeUnixNano,
          author: roleEvents.author,
          status: EventStatus.STARTED,
          severity: Severity.INFO,
        },
        content.start,
      ),
    );
  }
  span.events.forEach((spanEvent, index) => {
    if (spanEvent.name !== EXCEPTION_EVENT) return;
    const exception = new Attributes(spanEvent.attributes);
    const error = create(ErrorInfoSchema, {
      errorMessage: exception.string(ATTR_EXCEPTION_MESSAGE) ?? "",
      errorCode: exception.string(ATTR_EXCEPTION_TYPE) ?? "",
      stackTrace: exception.string(ATTR_EXCEPTION_STACKTRACE) ?? "",
    });
    events.push(
      event(
        `exception:${index}`,
        {
          type: EventType.ERROR,
          timeNs: spanEvent.timeUnixNano || span.endTimeUnixNano,
          author: roleEvents.author,
          status: EventStatus.FAILED,
          severity: Severity.ERROR,
        },
        { case: "error", value: error },
      ),
    );
  });
  events.push(
    event(
      "end",
      { type: roleEvents.end, timeNs: span.endTimeUnixNano, author: roleEvents.author, ...done(failed) },
      content.end,
    ),
  );
  if (output !== undefined) {
    events.push(
      event(
        "output",
        { type: EventType.OUTPUT_EMITTED, timeNs: span.endTimeUnixNano, author: Author.AGENT, ...done(false) },
        { case: "message", value: create(MessageContentSchema, { role: "assistant", text: output }) },
      ),
    );
  }
  return events;
}

type EventFields = Pick<Event, "type" | "author" | "status" | "severity"> & { timeNs: bigint };

function done(failed: boolean): { status: EventStatus; severity: Severity } {
  return failed
    ? { status: EventStatus.FAILED, severity: Severity.ERROR }
    : { status: EventStatus.COMPLETED, severity: Severity.INFO };
}

function idProblem(field: string, problem: string | undefined): string | undefined {
  return problem && `${field} ${problem}`;
}

/** What the span says that no Chaukas field holds, read last so `unread` is only the rest. */
function spanMetadata(span: Span, scope: ExportScope, source: string, attributes: Attributes): JsonObject {
  const otel: JsonObject = {
    span_name: span.name,
    span_kind: Span_SpanKindSchema.value[span.kind]?.name ?? span.kind,
    mapped_from: source,
    scope: scope.instrumentationScope,
    resource: scope.resource,
    attributes: attributes.unread(),
  };
  if (span.status?.message) otel.status_message = span.status.message;
  if (span.traceState) otel.trace_state = span.traceState;
  const other = span.events.filter((e) => e.name !== EXCEPTION_EVENT);
  if (other.length > 0) {
    otel.events = other.map((e) => ({
      name: e.name,
      time_unix_nano: e.timeUnixNano.toString(),
      attributes: Object.fromEntries(e.attributes.map((kv) => [kv.key, anyValueToJson(kv.value)])),
    }));
  }
  if (span.links.length > 0) {
    otel.links = span.links.map((link) => ({ trace_id: hexId(link.traceId), span_id: hexId(link.spanId) }));
  }
  return { otel };
}
