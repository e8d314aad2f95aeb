import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { anyPack, TimestampSchema, timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  Author,
  type Event,
  EventSchema,
  EventStatus,
  EventType,
  Severity,
} from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import { TimeRangeSchema } from "../../gen/chaukas/spec/common/v1/query_pb.ts";
import { toEventRecord } from "../../src/core/event-record.ts";
import type { LogEntryRef, StoredEvent } from "../../src/store/event-store.ts";

let counter = 0;

/** A minimal valid event; override any field. */
export function makeEvent(init: EventInit = {}): Event {
  counter++;
  return create(EventSchema, {
    eventId: `evt-${process.pid}-${counter}-${Math.random().toString(36).slice(2, 8)}`,
    tenantId: "acme",
    projectId: "web",
    sessionId: "session-1",
    type: EventType.AGENT_START,
    status: EventStatus.STARTED,
    severity: Severity.INFO,
    timestamp: create(TimestampSchema, { seconds: 1_764_072_000n + BigInt(counter), nanos: 123_456_789 }),
    ...init,
  });
}

/**
 * One event with every scalar, message, repeated and map field set, with the given content, but
 * the integrity fields: those are the server's (see test/core/audit and test/codec/canonical-*.test.ts).
 */
export function fullEvent(content: EventInit["content"]): Event {
  return makeEvent({
    spanId: "span-1",
    parentSpanId: "span-0",
    traceId: "trace-1",
    type: EventType.TOOL_CALL_START,
    severity: Severity.WARN,
    status: EventStatus.IN_PROGRESS,
    author: Author.AGENT,
    timestamp: { seconds: 1_764_072_123n, nanos: 987_654_321 },
    agentId: "agent-1",
    agentName: "Planner",
    invocationId: "inv-1",
    responseId: "resp-1",
    isPartial: true,
    isFinal: true,
    branch: "main",
    tags: ["prod", "eu"],
    content,
    retry: { attempt: 2, strategy: "exponential_backoff", backoffMs: 250 },
    redaction: { fields: ["messages[0].content"], method: "mask", saltId: "salt-1" },
    piiCategories: ["EMAIL", "PHONE"],
    performance: { cpuPercent: 12.5, memoryMb: 256, durationMs: 1.25, throughput: 3, latencyMs: 4.5 },
    infrastructure: {
      resourceType: "pod",
      metrics: { cpu: 0.5, nested: { list: [1, "two", true, null] } },
      host: "node-1",
      processId: 4242,
      threadId: "t-7",
    },
    cost: {
      provider: "openai",
      service: "chat.completions",
      inputTokens: 10,
      outputTokens: 20,
      totalTokens: 30,
      inputCost: 0.001,
      outputCost: 0.002,
      totalCost: 0.003,
      currency: "USD",
      inputRatePerToken: 0.0001,
      outputRatePerToken: 0.0001,
    },
    metadata: { sdk: "chaukas-sdk", version: "0.1.0", flags: [true, false] },
    extensions: [anyPack(TimeRangeSchema, create(TimeRangeSchema, { start: timestampFromDate(new Date(0)) }))],
  });
}

type EventInit = MessageInitShape<typeof EventSchema>;

/** Every case of Event.content, each with all of its fields set. */
export const EVERY_CONTENT: NonNullable<EventInit["content"]>[] = [
  { case: "message", value: { role: "user", text: "What is the weather in Paris?", metadata: { lang: "en" } } },
  {
    case: "toolCall",
    value: {
      id: "call-1",
      name: "weather",
      arguments: { city: "Paris", days: 3 },
      authRequired: true,
      functionName: "get_forecast",
    },
  },
  {
    case: "toolResponse",
    value: {
      toolCallId: "call-1",
      output: { temp: 21.5, sky: "clear" },
      errorMessage: "partial",
      executionTimeMs: 12.5,
      httpStatus: 200,
    },
  },
  {
    case: "llmInvocation",
    value: {
      provider: "openai",
      model: "gpt-4o-mini",
      request: { messages: [{ role: "user", content: "hi" }] },
      response: { choices: [{ text: "hello" }] },
      promptTokens: 5,
      completionTokens: 7,
      totalTokens: 12,
      temperature: 0.2,
      maxTokens: 256,
      topP: 0.9,
      frequencyPenalty: 0.1,
      presencePenalty: 0.3,
      startTime: { seconds: 1_764_072_000n, nanos: 1 },
      endTime: { seconds: 1_764_072_001n, nanos: 999_999_999 },
      durationMs: 1000.5,
      finishReason: "stop",
    },
  },
  {
    case: "policy",
    value: { policyId: "pii-guard", outcome: "deny", ruleIds: ["r1", "r2"], rationale: "contains an email address" },
  },
  {
    case: "dataAccess",
    value: { datasource: "vector://products", documentIds: ["d1"], chunkIds: ["c1", "c2"], piiCategories: ["EMAIL"] },
  },
  { case: "stateUpdate", value: { step: 3, plan: ["search", "answer"], done: false } },
  {
    case: "error",
    value: {
      errorMessage: "rate limited",
      errorCode: "429",
      stackTrace: "at call()",
      recoverable: true,
      recoveryAction: "retry",
    },
  },
  {
    case: "agentHandoff",
    value: {
      fromAgentId: "a1",
      fromAgentName: "Planner",
      toAgentId: "a2",
      toAgentName: "Researcher",
      handoffData: { topic: "weather" },
      reason: "needs research",
      handoffType: "sequential",
    },
  },
  {
    case: "mcpCall",
    value: {
      serverName: "files",
      serverUrl: "http://mcp.local",
      operation: "resources/read",
      method: "POST",
      request: { uri: "file:///a" },
      response: { text: "content" },
      protocolVersion: "2025-06-18",
      executionTimeMs: 3.25,
    },
  },
];

/** The event without the integrity fields the server fills in when it is read (for comparing with what was sent). */
export function withoutIntegrity(event: Event): Event {
  return create(EventSchema, { ...event, hashPrev: "", contentHash: "", wormProofId: "" });
}

/** The event as the store gives it back: its record's payload and time, with this log entry. */
export function storedEvent(event: Event, logEntry: LogEntryRef | undefined): StoredEvent {
  const record = toEventRecord(event);
  return { eventId: event.eventId, timestampNs: record.timestampNs, payload: record.payload, logEntry };
}
