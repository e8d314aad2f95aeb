import type { CostDetails, LLMInvocation } from "../../gen/chaukas/spec/common/v1/events_pb.ts";

/**
 * What one event adds to the session and usage views: who made it, which model, tokens and cost.
 * Read from the event at ingest (from its bytes, event-wire.ts) and carried to the rollups, so the
 * views never decode a payload.
 */
export interface EventUsage {
  /** agent_name, else agent_id; "" for neither. */
  agent: string;
  /** LLMInvocation.model; "" for none. */
  model: string;
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
  cost: number;
}

/** The fields of LLMInvocation and CostDetails eventUsage reads (event-wire.ts reads them from the wire). */
export const USAGE_FIELDS = {
  llmInvocation: ["model", "promptTokens", "completionTokens", "totalTokens"],
  cost: ["inputTokens", "outputTokens", "totalTokens", "inputCost", "outputCost", "totalCost"],
} as const;

type ModelFigures = Pick<LLMInvocation, (typeof USAGE_FIELDS.llmInvocation)[number]>;
type CostFigures = Pick<CostDetails, (typeof USAGE_FIELDS.cost)[number]>;

/** What eventUsage reads: an Event, or the same fields read from its wire bytes. */
export interface UsageSource {
  agentId: string;
  agentName: string;
  content: { case: string | undefined; value?: unknown };
  cost?: CostFigures;
}

export const NO_USAGE: EventUsage = { agent: "", model: "", inputTokens: 0, outputTokens: 0, totalTokens: 0, cost: 0 };

/**
 * The event's figures. Tokens come from the LLMInvocation, else from the CostDetails, each event
 * counted once: total_tokens, else input + output. Cost is CostDetails.total_cost, else input_cost
 * + output_cost. A negative or non-finite figure counts as 0: one bad event must not turn a
 * session's or a day's sum into NaN.
 */
export function eventUsage(event: UsageSource): EventUsage {
  const llm = event.content.case === "llmInvocation" ? (event.content.value as ModelFigures) : undefined;
  const cost = event.cost;
  const input = figure(llm?.promptTokens) || figure(cost?.inputTokens);
  const output = figure(llm?.completionTokens) || figure(cost?.outputTokens);
  const total =
    figure(llm?.totalTokens) ||
    figure(llm?.promptTokens) + figure(llm?.completionTokens) ||
    figure(cost?.totalTokens) ||
    figure(cost?.inputTokens) + figure(cost?.outputTokens);
  return {
    agent: event.agentName || event.agentId,
    model: llm?.model ?? "",
    inputTokens: input,
    outputTokens: output,
    totalTokens: total,
    cost: figure(cost?.totalCost) || figure(cost?.inputCost) + figure(cost?.outputCost),
  };
}

function figure(value: number | undefined): number {
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : 0;
}
