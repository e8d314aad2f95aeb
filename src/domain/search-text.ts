import type { JsonValue } from "@bufbuild/protobuf";
import type { Event } from "../../gen/chaukas/spec/common/v1/events_pb.ts";

/**
 * At most this many characters of an event go into the full-text index. Full-text indexing is the
 * most expensive part of an insert, so it covers what people search for, bounded.
 */
export const MAX_SEARCH_TEXT = 8192;

/**
 * The words `text_query` matches: agent names, message text, tool and model names, tool arguments
 * and outputs, errors, handoffs, MCP calls, policy rationale. Model request/response bodies are left
 * out: they are large, and their prompts are also sent as message events.
 */
export function searchText(event: Event): string {
  const parts: string[] = [event.agentName];
  const c = event.content;
  switch (c.case) {
    case "message":
      parts.push(c.value.text);
      break;
    case "toolCall":
      parts.push(c.value.name, c.value.functionName);
      collectJson(c.value.arguments, parts);
      break;
    case "toolResponse":
      parts.push(c.value.errorMessage);
      collectJson(c.value.output, parts);
      break;
    case "llmInvocation":
      parts.push(c.value.provider, c.value.model, c.value.finishReason);
      break;
    case "policy":
      parts.push(c.value.policyId, c.value.outcome, c.value.rationale, ...c.value.ruleIds);
      break;
    case "dataAccess":
      parts.push(c.value.datasource);
      break;
    case "stateUpdate":
      collectJson(c.value, parts);
      break;
    case "error":
      parts.push(c.value.errorCode, c.value.errorMessage);
      break;
    case "agentHandoff":
      parts.push(c.value.fromAgentName, c.value.toAgentName, c.value.reason);
      break;
    case "mcpCall":
      parts.push(c.value.serverName, c.value.operation);
      break;
  }
  return parts
    .filter((p) => p !== "")
    .join(" ")
    .slice(0, MAX_SEARCH_TEXT);
}

/** Keys and scalar values of a Struct, depth first. */
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
