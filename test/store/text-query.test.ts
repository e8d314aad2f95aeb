import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Event, EventType } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import { UNRESTRICTED } from "../../src/core/access.ts";
import type { EventService } from "../../src/core/event-service.ts";
import { openTestStore, storeKinds } from "../support/databases.ts";
import { makeEvent } from "../support/events.ts";
import { ids, queryAll, serviceOver } from "./fixtures.ts";

/** text_query: full text over what domain/search-text.ts extracts, and nothing else. */

type Init = Exclude<NonNullable<Parameters<typeof makeEvent>[0]>, Event>;
const at = (i: number): Init => ({ timestamp: { seconds: 1_764_072_000n + BigInt(i), nanos: 0 } });

const EVENTS: Record<string, Init> = {
  message: {
    type: EventType.INPUT_RECEIVED,
    agentName: "Concierge",
    content: { case: "message", value: { role: "user", text: "What is the weather in Paris?" } },
  },
  toolCall: {
    type: EventType.TOOL_CALL_START,
    content: {
      case: "toolCall",
      value: { name: "weather", functionName: "get_forecast", arguments: { city: "Lyon", days: 3 } },
    },
  },
  toolResponse: {
    type: EventType.TOOL_CALL_END,
    content: { case: "toolResponse", value: { errorMessage: "upstream timeout", output: { sky: "cloudy" } } },
  },
  llm: {
    type: EventType.MODEL_INVOCATION_END,
    content: {
      case: "llmInvocation",
      // The request body is not indexed (it is large, and its prompt is also sent as a message).
      value: { provider: "anthropic", model: "gpt-4o-mini", request: { prompt: "zanzibar" }, finishReason: "stop" },
    },
  },
  error: {
    type: EventType.ERROR,
    content: { case: "error", value: { errorCode: "E429", errorMessage: "rate limited by provider" } },
  },
  agent: { type: EventType.AGENT_START, agentName: "Planner" },
  // PostgreSQL text cannot hold NUL: the event is still stored and its words still found.
  nul: {
    type: EventType.OUTPUT_EMITTED,
    content: { case: "message", value: { role: "assistant", text: "binary\u0000kumquat" } },
  },
};

const CASES: [query: string, expected: string[]][] = [
  ["paris", ["message"]],
  ["PARIS", ["message"]],
  ["concierge", ["message"]],
  ["weather", ["message", "toolCall"]],
  ["get_forecast", ["toolCall"]],
  ["lyon", ["toolCall"]],
  ["city", ["toolCall"]],
  ["timeout", ["toolResponse"]],
  ["cloudy", ["toolResponse"]],
  ["gpt-4o-mini", ["llm"]],
  ["anthropic", ["llm"]],
  ["zanzibar", []],
  ["E429", ["error"]],
  ["limited", ["error"]],
  ["planner", ["agent"]],
  ["weather paris", ["message"]],
  ["paris or lyon", ["message", "toolCall"]],
  ["weather -paris", ["toolCall"]],
  ['"rate limited"', ["error"]],
  ['"limited rate"', []],
  ["kumquat", ["nul"]],
  ["kumquat\u0000", ["nul"]],
  ["nowhere", []],
  ["?!", []],
];

describe.each(await storeKinds())("text_query on the %s store", (kind) => {
  let service: EventService;
  let close: () => Promise<void>;
  const keyOf = new Map<string, string>();

  beforeAll(async () => {
    const opened = await openTestStore(kind);
    close = opened.close;
    service = serviceOver(opened.store);
    const events: Event[] = Object.entries(EVENTS).map(([key, init], i) => {
      const event = makeEvent({ tenantId: "search", ...at(i), ...init });
      keyOf.set(event.eventId, key);
      return event;
    });
    await service.ingestBatch(UNRESTRICTED, events);
  });
  afterAll(async () => {
    await close();
  });

  async function search(textQuery: string, types: EventType[] = []): Promise<string[]> {
    const { events } = await queryAll(service, { filter: { tenantId: "search", textQuery, types } });
    return ids(events).map((id) => keyOf.get(id) ?? id);
  }

  it.each(CASES)("%j matches %j", async (query, expected) => {
    expect(await search(query)).toEqual(expected);
  });

  it("ignores a blank text_query", async () => {
    expect(await search("   ")).toEqual(Object.keys(EVENTS));
  });

  it("returns an event with NUL in its text exactly as ingested", async () => {
    const { events } = await queryAll(service, { filter: { tenantId: "search", textQuery: "kumquat" } });
    expect(events.map((e) => e.content.case === "message" && e.content.value.text)).toEqual(["binary\u0000kumquat"]);
  });

  it("combines text_query with other conditions", async () => {
    expect(await search("weather", [EventType.TOOL_CALL_START])).toEqual(["toolCall"]);
  });

  it("does not search another tenant's events", async () => {
    const { events } = await queryAll(service, { filter: { tenantId: "elsewhere", textQuery: "weather" } });
    expect(events).toEqual([]);
  });
});
