import { equals } from "@bufbuild/protobuf";
import { describe, expect, test } from "vitest";
import { EventSchema, EventType } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import { formatSdkLine, parseSdkLine } from "../../src/domain/formats/sdk-jsonl.ts";
import { EVERY_CONTENT, fullEvent } from "../support/events.ts";

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
