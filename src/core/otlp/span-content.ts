import { SemanticConventions as OI } from "@arizeai/openinference-semantic-conventions";
import { create, type JsonObject } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  DataAccessSchema,
  type Event,
  LLMInvocationSchema,
  MCPCallSchema,
  PolicyDecisionSchema,
  ToolCallSchema,
  ToolResponseSchema,
} from "../../../gen/chaukas/spec/common/v1/events_pb.ts";
import { type Attributes, jsonStruct, parsedJson } from "./attributes.ts";
import {
  ATTR_GEN_AI_DATA_SOURCE_ID,
  ATTR_GEN_AI_INPUT_MESSAGES,
  ATTR_GEN_AI_OUTPUT_MESSAGES,
  ATTR_GEN_AI_PROVIDER_NAME,
  ATTR_GEN_AI_REQUEST_FREQUENCY_PENALTY,
  ATTR_GEN_AI_REQUEST_MAX_TOKENS,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_REQUEST_PRESENCE_PENALTY,
  ATTR_GEN_AI_REQUEST_TEMPERATURE,
  ATTR_GEN_AI_REQUEST_TOP_P,
  ATTR_GEN_AI_RESPONSE_FINISH_REASONS,
  ATTR_GEN_AI_RESPONSE_MODEL,
  ATTR_GEN_AI_SYSTEM,
  ATTR_GEN_AI_SYSTEM_INSTRUCTIONS,
  ATTR_GEN_AI_TOOL_CALL_ARGUMENTS,
  ATTR_GEN_AI_TOOL_CALL_ID,
  ATTR_GEN_AI_TOOL_CALL_RESULT,
  ATTR_GEN_AI_TOOL_NAME,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  ATTR_MCP_METHOD_NAME,
  ATTR_MCP_PROTOCOL_VERSION,
  ATTR_SERVER_ADDRESS,
} from "./semconv.ts";
import type { SpanRole } from "./span-role.ts";

/** What the content builders know of the span beside its attributes. */
export interface SpanTiming {
  name: string;
  startMs: number;
  endMs: number;
  failed: boolean;
  statusMessage: string;
}

export type Content = Event["content"];
const NONE: Content = { case: undefined };

/** The content of a span's start and end events, by role (docs/otlp.md has the table). */
export function spanContent(role: SpanRole, a: Attributes, t: SpanTiming): { start: Content; end: Content } {
  switch (role) {
    case "model":
      return modelContent(a, t);
    case "tool":
      return toolContent(a, t);
    case "mcp":
      return mcpContent(a, t);
    case "retrieval": {
      const documentIds = a
        .withPrefix(`${OI.RETRIEVAL_DOCUMENTS}.`)
        .filter(([key]) => key.endsWith(`.${OI.DOCUMENT_ID}`))
        .map(([, value]) => String(value));
      const datasource = a.firstString(ATTR_GEN_AI_DATA_SOURCE_ID) ?? "";
      return { start: NONE, end: { case: "dataAccess", value: create(DataAccessSchema, { datasource, documentIds }) } };
    }
    case "guardrail":
      return {
        start: NONE,
        end: {
          case: "policy",
          value: create(PolicyDecisionSchema, {
            policyId: t.name,
            outcome: t.failed ? "blocked" : "allowed",
            rationale: t.statusMessage,
          }),
        },
      };
    default:
      return { start: NONE, end: NONE };
  }
}

function modelContent(a: Attributes, t: SpanTiming): { start: Content; end: Content } {
  const inputTokens = a.number(ATTR_GEN_AI_USAGE_INPUT_TOKENS, OI.LLM_TOKEN_COUNT_PROMPT) ?? 0;
  const outputTokens = a.number(ATTR_GEN_AI_USAGE_OUTPUT_TOKENS, OI.LLM_TOKEN_COUNT_COMPLETION) ?? 0;
  const request: JsonObject = {};
  const messages = a.get(ATTR_GEN_AI_INPUT_MESSAGES) ?? a.get(OI.INPUT_VALUE);
  if (messages !== undefined) request.messages = parsedJson(messages);
  const instructions = a.get(ATTR_GEN_AI_SYSTEM_INSTRUCTIONS);
  if (instructions !== undefined) request.system_instructions = instructions;
  const parameters = a.get(OI.LLM_INVOCATION_PARAMETERS);
  if (parameters !== undefined) request.invocation_parameters = jsonStruct(parameters) ?? null;
  const response: JsonObject = {};
  const output = a.get(ATTR_GEN_AI_OUTPUT_MESSAGES) ?? a.get(OI.OUTPUT_VALUE);
  if (output !== undefined) response.messages = parsedJson(output);
  const base = {
    provider: a.firstString(ATTR_GEN_AI_PROVIDER_NAME, ATTR_GEN_AI_SYSTEM, OI.LLM_PROVIDER, OI.LLM_SYSTEM) ?? "",
    model: a.firstString(ATTR_GEN_AI_REQUEST_MODEL, OI.LLM_REQUEST_MODEL_NAME, OI.LLM_MODEL_NAME) ?? "",
    request,
    temperature: a.number(ATTR_GEN_AI_REQUEST_TEMPERATURE) ?? 0,
    maxTokens: int32(a.number(ATTR_GEN_AI_REQUEST_MAX_TOKENS)),
    topP: a.number(ATTR_GEN_AI_REQUEST_TOP_P) ?? 0,
    frequencyPenalty: a.number(ATTR_GEN_AI_REQUEST_FREQUENCY_PENALTY) ?? 0,
    presencePenalty: a.number(ATTR_GEN_AI_REQUEST_PRESENCE_PENALTY) ?? 0,
    startTime: timestampFromMs(t.startMs),
  };
  const responseModel = a.firstString(ATTR_GEN_AI_RESPONSE_MODEL, OI.LLM_RESPONSE_MODEL_NAME);
  const end = create(LLMInvocationSchema, {
    ...base,
    model: responseModel ?? base.model,
    response,
    promptTokens: int32(inputTokens),
    completionTokens: int32(outputTokens),
    totalTokens: int32(a.number(OI.LLM_TOKEN_COUNT_TOTAL) ?? inputTokens + outputTokens),
    endTime: timestampFromMs(t.endMs),
    durationMs: t.endMs - t.startMs,
    finishReason: a.strings(ATTR_GEN_AI_RESPONSE_FINISH_REASONS)[0] ?? a.string(OI.LLM_FINISH_REASON) ?? "",
  });
  return {
    start: { case: "llmInvocation", value: create(LLMInvocationSchema, base) },
    end: { case: "llmInvocation", value: end },
  };
}

function toolContent(a: Attributes, t: SpanTiming): { start: Content; end: Content } {
  const id = a.firstString(ATTR_GEN_AI_TOOL_CALL_ID, OI.TOOL_CALL_ID, OI.TOOL_ID) ?? "";
  const name = a.firstString(ATTR_GEN_AI_TOOL_NAME, OI.TOOL_NAME) ?? "";
  const call = create(ToolCallSchema, {
    id,
    name,
    functionName: name,
    arguments: jsonStruct(a.get(ATTR_GEN_AI_TOOL_CALL_ARGUMENTS) ?? a.get(OI.TOOL_PARAMETERS) ?? a.get(OI.INPUT_VALUE)),
  });
  const result = create(ToolResponseSchema, {
    toolCallId: id,
    output: jsonStruct(a.get(ATTR_GEN_AI_TOOL_CALL_RESULT) ?? a.get(OI.OUTPUT_VALUE)),
    errorMessage: t.failed ? t.statusMessage || "failed" : "",
    executionTimeMs: t.endMs - t.startMs,
  });
  return { start: { case: "toolCall", value: call }, end: { case: "toolResponse", value: result } };
}

function mcpContent(a: Attributes, t: SpanTiming): { start: Content; end: Content } {
  const base = {
    serverName: a.firstString(ATTR_SERVER_ADDRESS) ?? "",
    method: a.firstString(ATTR_MCP_METHOD_NAME) ?? "",
    operation: a.firstString(ATTR_GEN_AI_TOOL_NAME, OI.TOOL_NAME) ?? "",
    protocolVersion: a.firstString(ATTR_MCP_PROTOCOL_VERSION) ?? "",
    request: jsonStruct(a.get(ATTR_GEN_AI_TOOL_CALL_ARGUMENTS) ?? a.get(OI.INPUT_VALUE)),
  };
  const end = create(MCPCallSchema, {
    ...base,
    response: jsonStruct(a.get(ATTR_GEN_AI_TOOL_CALL_RESULT) ?? a.get(OI.OUTPUT_VALUE)),
    executionTimeMs: t.endMs - t.startMs,
  });
  return { start: { case: "mcpCall", value: create(MCPCallSchema, base) }, end: { case: "mcpCall", value: end } };
}

/** Token counts and the like as int32: absent, negative or past int32 read as 0. */
function int32(value: number | undefined): number {
  return value !== undefined && Number.isInteger(value) && value >= 0 && value <= 0x7fffffff ? value : 0;
}
