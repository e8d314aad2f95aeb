import { SemanticConventions } from "@arizeai/openinference-semantic-conventions";
import type { Attributes } from "./attributes.ts";
import {
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_PROVIDER_NAME,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_SYSTEM,
  ATTR_GEN_AI_TOOL_CALL_ID,
  ATTR_GEN_AI_TOOL_NAME,
  ATTR_MCP_METHOD_NAME,
} from "./semconv.ts";

/** What a span did, which decides its Chaukas event types and content (span-events.ts). */
export type SpanRole = "model" | "tool" | "mcp" | "agent" | "retrieval" | "guardrail" | "system";

export interface Classified {
  role: SpanRole;
  /** An embeddings call, a model call tagged `embedding`. */
  embedding: boolean;
  /** What named the role, e.g. `openinference.span.kind=CHAIN`; kept in metadata. */
  source: string;
}

/** The `chaukas.event_type` attribute: lets a sender choose the role outright. */
export const CHAUKAS_EVENT_TYPE = "chaukas.event_type";

const OPENINFERENCE_KINDS: Record<string, SpanRole> = {
  LLM: "model",
  EMBEDDING: "model",
  TOOL: "tool",
  AGENT: "agent",
  RETRIEVER: "retrieval",
  RERANKER: "retrieval",
  GUARDRAIL: "guardrail",
};

const GEN_AI_OPERATIONS: Record<string, SpanRole> = {
  chat: "model",
  text_completion: "model",
  generate_content: "model",
  embeddings: "model",
  execute_tool: "tool",
  invoke_agent: "agent",
  retrieval: "retrieval",
};

/** Event type names (without EVENT_TYPE_ and _START/_END) a `chaukas.event_type` may give. */
const CHAUKAS_TYPES: Record<string, SpanRole> = {
  MODEL_INVOCATION: "model",
  TOOL_CALL: "tool",
  MCP_CALL: "mcp",
  AGENT: "agent",
  DATA_ACCESS: "retrieval",
  POLICY_DECISION: "guardrail",
  SYSTEM: "system",
};

/**
 * The span's role, first match wins: `chaukas.event_type`, `openinference.span.kind`,
 * `gen_ai.operation.name`, `mcp.method.name`, `gen_ai.tool.*`, model attributes; else system.
 */
export function classifySpan(attributes: Attributes): Classified {
  const chaukasType = attributes.string(CHAUKAS_EVENT_TYPE);
  const named = chaukasType
    ?.toUpperCase()
    .replace(/^EVENT_TYPE_/, "")
    .replace(/_(START|END)$/, "");
  if (named && CHAUKAS_TYPES[named]) {
    return { role: CHAUKAS_TYPES[named], embedding: false, source: `${CHAUKAS_EVENT_TYPE}=${chaukasType}` };
  }
  const kind = attributes.string(SemanticConventions.OPENINFERENCE_SPAN_KIND)?.toUpperCase();
  if (kind) {
    return {
      role: OPENINFERENCE_KINDS[kind] ?? "system",
      embedding: kind === "EMBEDDING",
      source: `${SemanticConventions.OPENINFERENCE_SPAN_KIND}=${kind}`,
    };
  }
  const operation = attributes.string(ATTR_GEN_AI_OPERATION_NAME);
  // An MCP tool call is an MCP call whatever its operation says.
  if (attributes.has(ATTR_MCP_METHOD_NAME)) {
    return {
      role: "mcp",
      embedding: false,
      source: `${ATTR_MCP_METHOD_NAME}=${attributes.string(ATTR_MCP_METHOD_NAME)}`,
    };
  }
  if (operation) {
    return {
      role: GEN_AI_OPERATIONS[operation] ?? "system",
      embedding: operation === "embeddings",
      source: `${ATTR_GEN_AI_OPERATION_NAME}=${operation}`,
    };
  }
  if (attributes.has(ATTR_GEN_AI_TOOL_NAME) || attributes.has(ATTR_GEN_AI_TOOL_CALL_ID)) {
    return { role: "tool", embedding: false, source: "gen_ai.tool.*" };
  }
  for (const key of [
    ATTR_GEN_AI_REQUEST_MODEL,
    ATTR_GEN_AI_PROVIDER_NAME,
    ATTR_GEN_AI_SYSTEM,
    SemanticConventions.LLM_MODEL_NAME,
  ]) {
    if (attributes.has(key)) return { role: "model", embedding: false, source: key };
  }
  return { role: "system", embedding: false, source: "none" };
}
