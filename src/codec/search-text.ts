import type { JsonValue } from "@bufbuild/protobuf";
import type { Event } from "../../gen/chaukas/spec/common/v1/events_pb.ts";

/**
 * At most this many characters of an event go into the full-text index. Full-text indexing is the
 * most expensive part of an insert, so it covers what people search for, bounded.
 */
export const MAX_SEARCH_TEXT = 8192;

type ContentCase = NonNullable<Event["content"]["case"]>;

/**
 * The words `text_query` matches, per content case: these fields of the content, in this order
 * (strings, string lists, and Structs by their keys and values), after the agent name. An empty
 * list stands for the content itself, a Struct. Model request/response bodies are left out: they
 * are large, and their prompts are also sent as message events.
 */
export const SEARCHED_FIELDS: Readonly<Record<ContentCase, readonly string[]>> = {
  message: ["text"],
  toolCall: ["name", "functionName", "arguments"],
  toolResponse: ["errorMessage", "output"],
  llmInvocation: ["provider", "model", "finishReason"],
  policy: ["policyId", "outcome", "rationale", "ruleIds"],
  dataAccess: ["datasource"],
  stateUpdate: [],
  error: ["errorCode", "errorMessage"],
  agentHandoff: ["fromAgentName", "toAgentName", "reason"],
  mcpCall: ["serverName", "operation"],
};

/**
 * What searchText reads: an Event, or the same fields read from its wire bytes (event-wire.ts),
 * the content holding at least its SEARCHED_FIELDS.
 */
export interface Searchable {
  agentName: string;
  content: { case: ContentCase; value: object } | { case: undefined; value?: undefined };
}

/** The text the full-text index holds for an event. */
export function searchText(event: Searchable): string {
  const parts: string[] = [event.agentName];
  const { case: kind, value } = event.content;
  if (kind !== undefined) {
    const names = SEARCHED_FIELDS[kind];
    if (names.length === 0) collectJson(value as JsonValue, parts);
    for (const name of names) collectJson((value as Record<string, JsonValue | undefined>)[name], parts);
  }
  return parts
    .filter((p) => p !== "")
    .join(" ")
    .slice(0, MAX_SEARCH_TEXT);
}

/** Strings and lists of them as they are; of a Struct, the keys and scalar values, depth first. */
function collectJson(value: JsonValue | undefined, into: string[]): void {
  if (value === null || value === undefined) return;
  if (Array.isArray(value)) {
    for (const v of value) collectJson(v, into);
  } else if (typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      into.push(k);
      collectJson(v, into);
    }
  } else {
    into.push(String(value));
  }
}
