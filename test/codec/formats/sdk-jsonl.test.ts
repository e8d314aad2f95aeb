import { readFileSync } from "node:fs";
import { join } from "node:path";
import { create, equals } from "@bufbuild/protobuf";
import { TimestampSchema } from "@bufbuild/protobuf/wkt";
import { describe, expect, test } from "vitest";
import {
  Author,
  EventSchema,
  EventStatus,
  EventType,
  Severity,
} from "../../../gen/chaukas/spec/common/v1/events_pb.ts";
import { formatSdkLine, parseSdkLine } from "../../../src/codec/formats/sdk-jsonl.ts";
import { EVERY_CONTENT, fullEvent } from "../../support/events.ts";

describe("the Python SDK's file-mode JSON Lines", () => {
  test("reads a line as the SDK writes it: proto names, full enum names, a naive UTC timestamp", () => {
    const line = JSON.stringify({
      event_id: "0199a1b2-0000-7000-8000-000000000001",
      tenant_id: "acme",
      project_id: "web",
      session_id: "0199a1b2-0000-7000-8000-000000000002",
      span_id: "0199a1b2-0000-7000-8000-000000000003",
      type: "EVENT_TYPE_MODEL_INVOCATION_END",
      status: "EVENT_STATUS_COMPLETED",
      timestamp: "2025-01-31T12:00:00.123456",
      llm_invocation: { provider: "openai", model: "gpt-4o-mini", total_tokens: 42 },
      metadata: { framework: "openai_agents" },
    });
    const event = parseSdkLine(line);
    expect(event.type).toBe(EventType.MODEL_INVOCATION_END);
    expect(event.timestamp).toMatchObject({ seconds: BigInt(Date.UTC(2025, 0, 31, 12) / 1000), nanos: 123_456_000 });
    expect(event.content).toMatchObject({ case: "llmInvocation", value: { totalTokens: 42 } });
  });

  test.each(EVERY_CONTENT.map((c) => [c.case, c]))("format then parse is lossless (%s)", (_, content) => {
    const event = fullEvent(content);
    const line = formatSdkLine(event);
    expect(JSON.parse(line).timestamp).toBe("2025-11-25T12:02:03.987654321");
    expect(equals(EventSchema, parseSdkLine(line), event)).toBe(true);
  });

  test.each([
    ["{not json", /JSON/],
    ["[1,2]", /one JSON object/],
    ['{"type": "EVENT_TYPE_NOPE"}', /EVENT_TYPE_NOPE/],
    ['{"timestamp": "soon"}', /Timestamp/],
  ])("refuses %s", (line, message) => {
    expect(() => parseSdkLine(line)).toThrow(message);
  });
});

/** A naive UTC instant (as the SDK writes it) as a Timestamp, written out field by field. */
const utc = (iso: string, nanos = 0) =>
  create(TimestampSchema, { seconds: BigInt(Date.parse(`${iso}Z`) / 1000), nanos });

const SESSION = {
  tenantId: "acme",
  projectId: "support-bot",
  sessionId: "0194b6c2-8000-7000-8000-0000000000f1",
};

/** test/fixtures/sdk/file-mode.jsonl, line by line, built by hand. */
const FILE_MODE_EVENTS = [
  create(EventSchema, {
    ...SESSION,
    eventId: "0194b6c2-8000-7000-8000-000000000001",
    spanId: "0194b6c2-8000-7000-8000-0000000000a1",
    type: EventType.SESSION_START,
    severity: Severity.INFO,
    status: EventStatus.STARTED,
    timestamp: utc("2025-01-31T12:00:00"),
    author: Author.SYSTEM,
    agentId: "agent-1",
    agentName: "Support Agent",
    tags: ["prod", "eu"],
    metadata: { sdk_version: "0.1.0", framework: "crewai", attempts: 2, debug: false, parent: null },
  }),
  create(EventSchema, {
    ...SESSION,
    eventId: "0194b6c2-8000-7000-8000-000000000002",
    spanId: "0194b6c2-8000-7000-8000-0000000000a2",
    parentSpanId: "0194b6c2-8000-7000-8000-0000000000a1",
    type: EventType.TOOL_CALL_END,
    severity: Severity.INFO,
    status: EventStatus.COMPLETED,
    timestamp: utc("2025-01-31T12:00:01", 250_000_000),
    author: Author.TOOL,
    content: {
      case: "toolResponse",
      value: {
        toolCallId: "call_1",
        output: { status: "shipped", items: [{ sku: "A-17", qty: 1 }] },
        executionTimeMs: 41.5,
        httpStatus: 200,
      },
    },
  }),
  create(EventSchema, {
    ...SESSION,
    eventId: "0194b6c2-8000-7000-8000-000000000003",
    spanId: "0194b6c2-8000-7000-8000-0000000000a3",
    parentSpanId: "0194b6c2-8000-7000-8000-0000000000a1",
    type: EventType.ERROR,
    severity: Severity.ERROR,
    status: EventStatus.FAILED,
    timestamp: utc("2025-01-31T12:00:02", 7_000),
    author: Author.AGENT,
    content: {
      case: "error",
      value: { errorMessage: "rate limited", errorCode: "429", recoverable: true, recoveryAction: "retry" },
    },
    retry: { attempt: 2, strategy: "exponential_backoff", backoffMs: 400 },
  }),
  create(EventSchema, {
    ...SESSION,
    eventId: "0194b6c2-8000-7000-8000-000000000004",
    spanId: "0194b6c2-8000-7000-8000-0000000000a4",
    type: EventType.POLICY_DECISION,
    severity: Severity.WARN,
    status: EventStatus.COMPLETED,
    timestamp: utc("2025-01-31T12:00:03", 999_999_000),
    author: Author.SYSTEM,
    content: {
      case: "policy",
      value: { policyId: "pii-guard", outcome: "deny", ruleIds: ["r1", "r7"], rationale: "email in output" },
    },
    piiCategories: ["EMAIL"],
  }),
];

describe("a file the Python SDK's file mode wrote (test/fixtures/sdk/file-mode.jsonl)", () => {
  const lines = readFileSync(join(import.meta.dirname, "..", "..", "fixtures", "sdk", "file-mode.jsonl"), "utf8")
    .split("\n")
    .filter((line) => line !== "");

  test("holds one line per event written out by hand", () => {
    expect(lines).toHaveLength(FILE_MODE_EVENTS.length);
  });

  test.each(FILE_MODE_EVENTS.map((e, i) => [e.eventId, i] as const))("reads line %s as the event", (_, i) => {
    const read = parseSdkLine(lines[i]);
    expect(equals(EventSchema, read, FILE_MODE_EVENTS[i]), formatSdkLine(read)).toBe(true);
  });

  // Python's separators and `2.0` for a Struct number differ in bytes only: compared as JSON values.
  // The SDK writes six fraction digits (isoformat); export writes protobuf JSON's 3, 6 or 9: the
  // same instant, compared without trailing zeros.
  test.each(FILE_MODE_EVENTS.map((e, i) => [e.eventId, i] as const))("writes the event as line %s", (_, i) => {
    const instant = (line: string) => {
      const json = JSON.parse(line);
      return { ...json, timestamp: json.timestamp.replace(/(\.\d*?)0*$/, "$1").replace(/\.$/, "") };
    };
    expect(instant(formatSdkLine(FILE_MODE_EVENTS[i]))).toEqual(instant(lines[i]));
  });
});
