import { equals } from "@bufbuild/protobuf";
import { describe, expect, test } from "vitest";
import { EventSchema, EventStatus, EventType } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import { QueryRequestSchema, SortOrder } from "../../gen/chaukas/spec/common/v1/query_pb.ts";
import { InvalidArgumentError } from "../../src/domain/errors.ts";
import { eventFromRestJson, eventToRestJson, fromRestJson } from "../../src/domain/formats/rest-json.ts";
import { EVERY_CONTENT, fullEvent, makeEvent } from "../support/events.ts";

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
