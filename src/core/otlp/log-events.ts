import { create, type JsonObject, toBinary } from "@bufbuild/protobuf";
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
import { type LogRecord, LogRecordSchema, SeverityNumber } from "../../../gen/opentelemetry/proto/logs/v1/logs_pb.ts";
import { sha256 } from "../../lib/bytes.ts";
import { nsToTimestampParts } from "../../lib/timestamps.ts";
import { Attributes, anyValueToJson, MAX_ATTRIBUTE_CHARS, oversizedAttribute } from "./attributes.ts";
import type { ExportScope } from "./export-scope.ts";
import { derivedEventId, hexId, otlpIdProblem } from "./otlp-ids.ts";
import {
  ATTR_EVENT_NAME,
  ATTR_GEN_AI_INPUT_MESSAGES,
  ATTR_GEN_AI_OUTPUT_MESSAGES,
  ATTR_GEN_AI_SYSTEM_INSTRUCTIONS,
  EVENT_GEN_AI_ASSISTANT_MESSAGE,
  EVENT_GEN_AI_CHOICE,
  EVENT_GEN_AI_CLIENT_INFERENCE_OPERATION_DETAILS,
  EVENT_GEN_AI_SYSTEM_MESSAGE,
  EVENT_GEN_AI_TOOL_MESSAGE,
  EVENT_GEN_AI_USER_MESSAGE,
} from "./semconv.ts";

/** GenAI message events and the role of the message each carries. */
const MESSAGE_EVENTS: Record<string, { type: EventType; role: string; author: Author }> = {
  [EVENT_GEN_AI_USER_MESSAGE]: { type: EventType.INPUT_RECEIVED, role: "user", author: Author.USER },
  [EVENT_GEN_AI_SYSTEM_MESSAGE]: { type: EventType.INPUT_RECEIVED, role: "system", author: Author.SYSTEM },
  [EVENT_GEN_AI_TOOL_MESSAGE]: { type: EventType.INPUT_RECEIVED, role: "tool", author: Author.TOOL },
  [EVENT_GEN_AI_ASSISTANT_MESSAGE]: { type: EventType.OUTPUT_EMITTED, role: "assistant", author: Author.LLM },
  [EVENT_GEN_AI_CHOICE]: { type: EventType.OUTPUT_EMITTED, role: "assistant", author: Author.LLM },
};

/**
 * One OTLP log record as Chaukas events: a GenAI message event as INPUT_RECEIVED or
 * OUTPUT_EMITTED; `gen_ai.client.inference.operation.details` as both (its input and output
 * messages); any other record as ERROR (severity ERROR and above) or SYSTEM, its body as the
 * message. Events of a record tied to a span carry its trace and span ids, so they sit beside the
 * span's events. Ids are derived from the record's bytes: a re-sent record is the same event.
 */
export function logEvents(record: LogRecord, scope: ExportScope): Event[] | string {
  const problem = otlpIdProblem(record.traceId, 16, true) ?? otlpIdProblem(record.spanId, 8, true);
  if (problem) return `trace_id/span_id: ${problem}`;
  const oversized = oversizedAttribute(record.attributes);
  if (oversized) return `attribute "${oversized}" holds more than ${MAX_ATTRIBUTE_CHARS} characters`;
  const timeNs = record.timeUnixNano || record.observedTimeUnixNano;
  if (timeNs === 0n) return "time_unix_nano (or observed_time_unix_nano) is required";

  const attributes = new Attributes(record.attributes);
  const name = record.eventName || attributes.string(ATTR_EVENT_NAME) || "";
  const traceId = hexId(record.traceId);
  const recordId = sha256(toBinary(LogRecordSchema, record)).toString("hex");
  const body = anyValueToJson(record.body);
  const text = typeof body === "string" ? body : body === null ? "" : JSON.stringify(body);
  const failed = record.severityNumber >= SeverityNumber.ERROR;
  const parts: { part: string; type: EventType; author: Author; content: Event["content"] }[] = [];
  const message = (role: string, value: string) => ({
    case: "message" as const,
    value: create(MessageContentSchema, { role, text: value }),
  });

  if (name === EVENT_GEN_AI_CLIENT_INFERENCE_OPERATION_DETAILS) {
    const input = attributes.get(ATTR_GEN_AI_INPUT_MESSAGES);
    const instructions = attributes.get(ATTR_GEN_AI_SYSTEM_INSTRUCTIONS);
    const output = attributes.get(ATTR_GEN_AI_OUTPUT_MESSAGES);
    if (input !== undefined || instructions !== undefined) {
      const value = JSON.stringify({ system_instructions: instructions, messages: input });
      parts.push({
        part: "input",
        type: EventType.INPUT_RECEIVED,
        author: Author.USER,
        content: message("user", value),
      });
    }
    if (output !== undefined) {
      const value = typeof output === "string" ? output : JSON.stringify(output);
      parts.push({
        part: "output",
        type: EventType.OUTPUT_EMITTED,
        author: Author.LLM,
        content: message("assistant", value),
      });
    }
  } else if (MESSAGE_EVENTS[name]) {
    const { type, role, author } = MESSAGE_EVENTS[name];
    parts.push({ part: "message", type, author, content: message(role, text) });
  } else if (failed) {
    const error = create(ErrorInfoSchema, { errorMessage: text, errorCode: record.severityText });
    parts.push({
      part: "error",
      type: EventType.ERROR,
      author: Author.SYSTEM,
      content: { case: "error", value: error },
    });
  }
  if (parts.length === 0) {
    parts.push({ part: "log", type: EventType.SYSTEM, author: Author.SYSTEM, content: message("log", text) });
  }
  const metadata: JsonObject = {
    otel: {
      log_event_name: name,
      severity_number: record.severityNumber,
      severity_text: record.severityText,
      scope: scope.instrumentationScope,
      resource: scope.resource,
      attributes: attributes.unread(),
    },
  };
  return parts.map(({ part, type, author, content }) =>
    create(EventSchema, {
      eventId: derivedEventId("log", recordId, part),
      tenantId: scope.tenantId,
      projectId: scope.projectId,
      sessionId: scope.sessionOf(traceId, attributes) || `otel-logs:${scope.projectId}`,
      traceId,
      spanId: hexId(record.spanId),
      type,
      author,
      status: failed ? EventStatus.FAILED : EventStatus.COMPLETED,
      severity: severityOf(record.severityNumber),
      timestamp: nsToTimestampParts(timeNs),
      tags: ["otel", "log"],
      content,
      metadata,
    }),
  );
}

/** OTLP severity numbers (1-24, in fours) as Chaukas severities; unspecified as INFO. */
function severityOf(severity: SeverityNumber): Severity {
  if (severity >= SeverityNumber.ERROR) return Severity.ERROR;
  if (severity >= SeverityNumber.WARN) return Severity.WARN;
  if (severity >= SeverityNumber.INFO || severity === SeverityNumber.UNSPECIFIED) return Severity.INFO;
  return Severity.DEBUG;
}
