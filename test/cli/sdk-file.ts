/**
 * Lines exactly as the Python SDK's file mode writes them: `json.dumps(MessageToDict(event,
 * preserving_proto_field_name=True))` with `timestamp` replaced by a naive UTC isoformat() string
 * (microseconds, or none when they are zero). Proto names, full enum names, Python's separators.
 */

export const SESSION_1 = "0194b6c2-7a00-7000-8000-000000000001";
export const SESSION_2 = "0194b6c2-7a00-7000-8000-000000000002";

export const LLM_END =
  '{"event_id": "0194b6c2-7a1e-7c3d-9f00-3b1a2c4d5e6f", "tenant_id": "acme", "project_id": "support-bot", ' +
  `"session_id": "${SESSION_1}", "trace_id": "0194b6c2-7a00-7000-8000-0000000000aa", ` +
  '"span_id": "0194b6c2-7a1e-7000-8000-00000000000a", "parent_span_id": "0194b6c2-7a00-7000-8000-000000000003", ' +
  '"type": "EVENT_TYPE_MODEL_INVOCATION_END", "severity": "SEVERITY_INFO", "status": "EVENT_STATUS_COMPLETED", ' +
  '"timestamp": "2025-01-31T12:00:00.123456", "author": "AUTHOR_LLM", "agent_id": "agent-1", ' +
  '"agent_name": "Support Agent", "llm_invocation": {"provider": "openai", "model": "gpt-4o-mini", ' +
  '"request": {"messages": [{"role": "user", "content": "Where is my order?"}]}, ' +
  '"response": {"content": "It ships today."}, "prompt_tokens": 12, "completion_tokens": 5, ' +
  '"total_tokens": 17, "temperature": 0.2, "start_time": "2025-01-31T11:59:59.500Z", ' +
  '"end_time": "2025-01-31T12:00:00.100Z", "duration_ms": 600.0, "finish_reason": "stop"}, ' +
  '"cost": {"provider": "openai", "service": "chat.completions", "input_tokens": 12, "output_tokens": 5, ' +
  '"total_tokens": 17, "total_cost": 0.0001, "currency": "USD"}, "tags": ["prod"], ' +
  '"metadata": {"sdk_version": "0.1.0", "framework": "openai_agents"}}';

export const TOOL_START =
  '{"event_id": "0194b6c2-7a1f-7000-8000-000000000001", "tenant_id": "acme", "project_id": "support-bot", ' +
  `"session_id": "${SESSION_1}", "span_id": "0194b6c2-7a1f-7000-8000-00000000000b", ` +
  '"parent_span_id": "0194b6c2-7a1e-7000-8000-00000000000a", "type": "EVENT_TYPE_TOOL_CALL_START", ' +
  '"severity": "SEVERITY_INFO", "status": "EVENT_STATUS_STARTED", "timestamp": "2025-01-31T12:00:01", ' +
  '"author": "AUTHOR_TOOL", "tool_call": {"id": "call_1", "name": "order_lookup", ' +
  '"arguments": {"order_id": "A-17", "verbose": true}, "function_name": "lookup"}}';

export const INPUT =
  '{"event_id": "0194b6c2-7a20-7000-8000-000000000001", "tenant_id": "acme", "project_id": "other-bot", ' +
  `"session_id": "${SESSION_2}", "span_id": "0194b6c2-7a20-7000-8000-00000000000c", ` +
  '"type": "EVENT_TYPE_INPUT_RECEIVED", "severity": "SEVERITY_INFO", "status": "EVENT_STATUS_COMPLETED", ' +
  '"timestamp": "2025-01-31T12:00:02.000001", "author": "AUTHOR_USER", ' +
  '"message": {"role": "user", "text": "Hello \\u00e9t\\u00e9"}}';

/** A generated line of the same shape, for volume. */
export function bulkLine(i: number): string {
  const micros = String(i % 1_000_000).padStart(6, "0");
  const second = String(Math.floor(i / 1000) % 60).padStart(2, "0");
  const minute = String(Math.floor(i / 60_000) % 60).padStart(2, "0");
  return (
    `{"event_id": "bulk-${i}", "tenant_id": "bulk", "project_id": "p", "session_id": "s-${i % 50}", ` +
    `"span_id": "span-${i}", "type": "EVENT_TYPE_AGENT_START", "severity": "SEVERITY_INFO", ` +
    `"status": "EVENT_STATUS_STARTED", "timestamp": "2025-02-01T10:${minute}:${second}.${micros}", ` +
    `"message": {"role": "assistant", "text": "step ${i} of the plan"}}`
  );
}
