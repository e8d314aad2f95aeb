import type { MessageInitShape } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import type { EventSchema } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import { MAX_SEARCH_TEXT, searchText } from "../../src/codec/search-text.ts";
import { makeEvent } from "../support/events.ts";

/** The words of the search text of an event with this content (and agent name, when given). */
function words(content: MessageInitShape<typeof EventSchema>["content"], agentName = "") {
  return searchText(makeEvent({ content, agentName })).split(" ");
}

describe("searchText", () => {
  it("covers the agent name and the message text", () => {
    const text = searchText(
      makeEvent({
        agentName: "Planner",
        content: { case: "message", value: { role: "user", text: "Weather in Paris?" } },
      }),
    );
    expect(text).toContain("Planner");
    expect(text).toContain("Weather in Paris?");
  });

  it("covers a tool call's name, function name and argument keys and values, nested ones too", () => {
    const w = words({
      case: "toolCall",
      value: {
        name: "weather",
        functionName: "get_forecast",
        arguments: { city: "Paris", days: 3, options: { units: "metric", hourly: true, skip: [null, "rain"] } },
      },
    });
    expect(w).toEqual(
      expect.arrayContaining(["weather", "get_forecast", "city", "Paris", "days", "3", "options", "units", "metric"]),
    );
    expect(w).toEqual(expect.arrayContaining(["hourly", "true", "skip", "rain"]));
  });

  it("covers a tool response's output and error message", () => {
    const w = words({
      case: "toolResponse",
      value: { output: { sky: "clear", temp: 21.5 }, errorMessage: "upstream-timeout" },
    });
    expect(w).toEqual(expect.arrayContaining(["upstream-timeout", "sky", "clear", "temp", "21.5"]));
  });

  it("covers an error's message and code", () => {
    const text = searchText(
      makeEvent({ content: { case: "error", value: { errorMessage: "rate limited by provider", errorCode: "E429" } } }),
    );
    expect(text).toContain("rate limited by provider");
    expect(text.split(" ")).toContain("E429");
  });

  it("covers a model invocation's provider and model, not its request and response bodies", () => {
    const w = words({
      case: "llmInvocation",
      value: {
        provider: "anthropic",
        model: "claude-sonnet",
        request: { prompt: "secret-prompt-body" },
        response: { text: "long-response-body" },
      },
    });
    expect(w).toEqual(expect.arrayContaining(["anthropic", "claude-sonnet"]));
    expect(w).not.toContain("secret-prompt-body");
    expect(w).not.toContain("long-response-body");
  });

  it("covers both agent names of a handoff", () => {
    const w = words({ case: "agentHandoff", value: { fromAgentName: "Planner", toAgentName: "Researcher" } }, "Boss");
    expect(w).toEqual(expect.arrayContaining(["Boss", "Planner", "Researcher"]));
  });

  it("covers an MCP call's server name and operation", () => {
    const w = words({ case: "mcpCall", value: { serverName: "files-server", operation: "resources/read" } });
    expect(w).toEqual(expect.arrayContaining(["files-server", "resources/read"]));
  });

  it("covers a policy decision's rationale", () => {
    const text = searchText(
      makeEvent({
        content: { case: "policy", value: { policyId: "pii-guard", outcome: "deny", rationale: "contains an email" } },
      }),
    );
    expect(text).toContain("contains an email");
    expect(text).toContain("pii-guard");
  });

  it("leaves out empty fields instead of adding blanks", () => {
    expect(searchText(makeEvent({ agentName: "", content: { case: "message", value: { text: "" } } }))).toBe("");
    expect(searchText(makeEvent({ agentName: "Solo" }))).toBe("Solo");
  });

  it(`is capped at MAX_SEARCH_TEXT (${MAX_SEARCH_TEXT}) characters`, () => {
    const huge = "word ".repeat(MAX_SEARCH_TEXT);
    const text = searchText(makeEvent({ agentName: "Planner", content: { case: "message", value: { text: huge } } }));
    expect(text).toHaveLength(MAX_SEARCH_TEXT);
    expect(text.startsWith("Planner word word")).toBe(true);

    const bigArgs = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`key${i}`, `value${i}`]));
    const fromJson = searchText(makeEvent({ content: { case: "toolCall", value: { name: "t", arguments: bigArgs } } }));
    expect(fromJson.length).toBe(MAX_SEARCH_TEXT);
  });
});
