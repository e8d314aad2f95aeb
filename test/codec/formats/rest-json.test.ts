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
import { QueryRequestSchema, SortOrder } from "../../../gen/chaukas/spec/common/v1/query_pb.ts";
import { eventFromRestJson, eventToRestJson, fromRestJson, toRestJson } from "../../../src/codec/formats/rest-json.ts";
import { InvalidArgumentError } from "../../../src/lib/errors.ts";
import { EVERY_CONTENT, fullEvent, makeEvent } from "../../support/events.ts";

describe("the public REST API's JSON shape", () => {
  test.each(EVERY_CONTENT.map((c) => [c.case, c]))("an event with %s content round-trips losslessly", (_, content) => {
    const event = fullEvent(content);
    const json = eventToRestJson(event);
    const back = eventFromRestJson(JSON.parse(JSON.stringify(json)));
    expect(equals(EventSchema, back, event)).toBe(true);
  });

  test("uses snake_case names, bare enum names, RFC 3339 timestamps and a content union", () => {
    const json = eventToRestJson(fullEvent(EVERY_CONTENT[1]));
    expect(json).toMatchObject({
      event_id: expect.any(String),
      session_id: "session-1",
      type: "TOOL_CALL_START",
      status: "IN_PROGRESS",
      severity: "WARN",
      author: "AGENT",
      timestamp: "2025-11-25T12:02:03.987654321Z",
      content: { kind: "tool_call", name: "weather", function_name: "get_forecast", arguments: { city: "Paris" } },
    });
    expect(json).not.toHaveProperty("tool_call");
    expect(json.extensions).toEqual([{ type_url: expect.stringContaining("TimeRange"), value: expect.any(String) }]);
  });

  test("names each content kind as the published API does", () => {
    const kinds = EVERY_CONTENT.map((c) => (eventToRestJson(fullEvent(c)).content as { kind: string }).kind);
    expect(kinds).toEqual([
      "message",
      "tool_call",
      "tool_response",
      "llm_invocation",
      "policy_decision",
      "data_access",
      "state_update",
      "error_info",
      "agent_handoff",
      "mcp_call",
    ]);
  });

  test("reads bare and full enum names alike", () => {
    const base = { event_id: "e", session_id: "s", timestamp: "2026-01-01T00:00:00Z" };
    const bare = eventFromRestJson({ ...base, type: "AGENT_END", status: "COMPLETED" });
    const full = eventFromRestJson({ ...base, type: "EVENT_TYPE_AGENT_END", status: "EVENT_STATUS_COMPLETED" });
    expect(bare.type).toBe(EventType.AGENT_END);
    expect(bare.status).toBe(EventStatus.COMPLETED);
    expect(equals(EventSchema, bare, full)).toBe(true);
  });

  test("reads a QueryRequest with ASC/DESC and enum lists", () => {
    const request = fromRestJson(QueryRequestSchema, {
      filter: { tenant_id: "acme", types: ["SESSION_START", "ERROR"], severities: ["ERROR"] },
      order_by_time: "ASC",
      page_size: 10,
    });
    expect(request.orderByTime).toBe(SortOrder.ASC);
    expect(request.filter?.types).toEqual([EventType.SESSION_START, EventType.ERROR]);
    expect(request.pageSize).toBe(10);
  });

  test.each([
    [{ content: { kind: "nope" } }, "content.kind"],
    [{ content: "text" }, "content.kind"],
    [{ extensions: {} }, "extensions"],
    [{ extensions: [{ type_url: 1 }] }, "extensions[0]"],
    [{ type: "NOT_A_TYPE" }, "type"],
    [{ timestamp: "yesterday" }, "timestamp"],
  ])("refuses malformed input %j naming %s", (patch, field) => {
    const json = { ...eventToRestJson(makeEvent()), ...patch };
    let error: unknown;
    try {
      eventFromRestJson(json);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).violations[0].field).toBe(field);
  });
});

/** A UTC instant as a Timestamp, written out field by field. */
const utc = (iso: string, nanos = 0) =>
  create(TimestampSchema, { seconds: BigInt(Date.parse(`${iso}Z`) / 1000), nanos });

/** The fixture's events, built by hand from the published API's rules (test/fixtures/rest/events-batch.json). */
const FIXTURE_EVENTS = [
  create(EventSchema, {
    eventId: "evt-rest-0001",
    tenantId: "acme",
    projectId: "web",
    sessionId: "sess-42",
    spanId: "span-1",
    type: EventType.SESSION_START,
    severity: Severity.INFO,
    status: EventStatus.STARTED,
    author: Author.USER,
    timestamp: utc("2026-03-01T09:15:00"),
    agentId: "agent-7",
    agentName: "Planner",
    tags: ["beta"],
    content: { case: "message", value: { role: "user", text: "Book a table for two" } },
    metadata: { ui: "web", retries: 0 },
  }),
  create(EventSchema, {
    eventId: "evt-rest-0002",
    tenantId: "acme",
    projectId: "web",
    sessionId: "sess-42",
    spanId: "span-2",
    parentSpanId: "span-1",
    traceId: "trace-9",
    type: EventType.TOOL_CALL_START,
    severity: Severity.INFO,
    status: EventStatus.IN_PROGRESS,
    author: Author.AGENT,
    timestamp: utc("2026-03-01T09:15:00", 250_000_000),
    content: {
      case: "toolCall",
      value: {
        id: "call-1",
        name: "reservations",
        functionName: "book",
        arguments: { party: 2, time: "19:30", outdoor: false },
      },
    },
  }),
  create(EventSchema, {
    eventId: "evt-rest-0003",
    tenantId: "acme",
    projectId: "web",
    sessionId: "sess-42",
    spanId: "span-3",
    parentSpanId: "span-1",
    type: EventType.MODEL_INVOCATION_END,
    severity: Severity.WARN,
    status: EventStatus.COMPLETED,
    author: Author.LLM,
    timestamp: utc("2026-03-01T09:15:01", 123_456_789),
    content: {
      case: "llmInvocation",
      value: {
        provider: "openai",
        model: "gpt-4o-mini",
        promptTokens: 120,
        completionTokens: 30,
        totalTokens: 150,
        startTime: utc("2026-03-01T09:15:00", 500_000_000),
        endTime: utc("2026-03-01T09:15:01", 100_000_000),
        durationMs: 600,
        finishReason: "length",
      },
    },
    cost: { provider: "openai", service: "chat.completions", totalCost: 0.0021, currency: "USD" },
  }),
  create(EventSchema, {
    eventId: "evt-rest-0004",
    tenantId: "acme",
    projectId: "web",
    sessionId: "sess-42",
    spanId: "span-4",
    type: EventType.ERROR,
    severity: Severity.ERROR,
    status: EventStatus.FAILED,
    author: Author.AGENT,
    timestamp: utc("2026-03-01T09:15:02"),
    content: {
      case: "error",
      value: { errorMessage: "upstream timeout", errorCode: "ETIMEDOUT", recoverable: true },
    },
  }),
];

describe("hand-written documents in the published REST shape (test/fixtures/rest)", () => {
  const fixture = (name: string) =>
    JSON.parse(readFileSync(join(import.meta.dirname, "..", "..", "fixtures", "rest", name), "utf8"));

  test.each(FIXTURE_EVENTS.map((e, i) => [e.eventId, i] as const))(
    "reads %s as the event written out by hand",
    (_, i) => {
      const read = eventFromRestJson(fixture("events-batch.json").events[i]);
      expect(equals(EventSchema, read, FIXTURE_EVENTS[i]), JSON.stringify(eventToRestJson(read))).toBe(true);
    },
  );

  test.each(FIXTURE_EVENTS.map((e, i) => [e.eventId, i] as const))("writes %s as the document", (_, i) => {
    expect(eventToRestJson(FIXTURE_EVENTS[i])).toEqual(fixture("events-batch.json").events[i]);
  });

  test("reads and writes a QueryRequest as the document", () => {
    const expected = create(QueryRequestSchema, {
      filter: {
        tenantId: "acme",
        projectId: "web",
        sessionId: "sess-42",
        types: [EventType.SESSION_START, EventType.TOOL_CALL_START],
        statuses: [EventStatus.COMPLETED],
        severities: [Severity.WARN, Severity.ERROR],
        tags: ["beta"],
        textQuery: "table",
        time: { start: utc("2026-03-01T00:00:00"), end: utc("2026-03-02T00:00:00") },
      },
      pageSize: 50,
      pageToken: "next-page",
      orderByTime: SortOrder.DESC,
    });
    expect(equals(QueryRequestSchema, fromRestJson(QueryRequestSchema, fixture("query-request.json")), expected)).toBe(
      true,
    );
    expect(toRestJson(QueryRequestSchema, expected)).toEqual(fixture("query-request.json"));
  });
});
