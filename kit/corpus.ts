import { create, type JsonObject, type MessageInitShape } from "@bufbuild/protobuf";
import { type Timestamp, TimestampSchema } from "@bufbuild/protobuf/wkt";
import {
  Author,
  type Event,
  EventSchema,
  EventStatus,
  EventType,
  Severity,
} from "../gen/chaukas/spec/common/v1/events_pb.ts";
import { Random } from "./random.ts";

/**
 * A deterministic corpus of agent runs shaped like what the Python SDK (chaukas-sdk 0.1.0) sends
 * for an instrumented agent: SESSION_START/END around one to three runs (each with its own
 * trace), AGENT_START/END, the user's input, model calls whose request/response Structs weigh
 * 1-4 KB, tool calls, MCP calls, data access, policy decisions, handoffs, errors and retries, and
 * the final output. UUIDv7 ids, a span tree, many tenants and projects. The same seed gives the
 * same events, byte for byte.
 */

const HEX = "0123456789abcdef";

/** A UUIDv7 for the given millisecond: 48-bit time, version 7, variant 10, the rest random. */
export function uuid7(ms: number, random: Random): string {
  const t = Math.floor(ms).toString(16).padStart(12, "0");
  return `${t.slice(0, 8)}-${t.slice(8)}-7${random.hex(3)}-${HEX[8 + random.int(4)]}${random.hex(3)}-${random.hex(12)}`;
}

export interface CorpusOptions {
  seed: number;
  /** Tenants: the first one ("tenant-000") gets `bigTenantShare` of the sessions, the others share the rest. */
  tenants: number;
  bigTenantShare: number;
  /** Sessions start evenly (with jitter) over [startMs, startMs + spanDays) in this order. */
  startMs: number;
  spanDays: number;
  /** Roughly how many events the caller will take: spaces the sessions so they fill the span. */
  expectedEvents: number;
}

export const DEFAULT_CORPUS: Omit<CorpusOptions, "expectedEvents"> = {
  seed: 42,
  tenants: 50,
  bigTenantShare: 0.4,
  startMs: Date.UTC(2026, 7, 1),
  spanDays: 90,
};

/** Average events per session of this generator, measured (used only to space sessions in time). */
const AVERAGE_SESSION_EVENTS = 47;

export interface Session {
  tenantId: string;
  projectId: string;
  sessionId: string;
  traceIds: string[];
  events: Event[];
  /** Order ids that appear in this session's tool arguments (rare words for text search). */
  orderIds: string[];
}

export const BIG_TENANT = "tenant-000";

/** Endless sessions, in start-time order. Take as many as needed. */
export function* sessions(options: CorpusOptions): Generator<Session> {
  const random = new Random(options.seed);
  const spanMs = options.spanDays * 86_400_000;
  const sessionCount = Math.max(1, options.expectedEvents / AVERAGE_SESSION_EVENTS);
  const gapMs = spanMs / sessionCount;
  for (let i = 0; ; i++) {
    const startMs = options.startMs + i * gapMs + random.next() * gapMs;
    const tenant = random.chance(options.bigTenantShare) ? 0 : 1 + random.int(Math.max(1, options.tenants - 1));
    yield new SessionBuilder(random, tenant, startMs).build();
  }
}

/** The first `count` events of the corpus, in session order. */
export function corpusEvents(options: CorpusOptions, count: number): Event[] {
  const events: Event[] = [];
  for (const session of sessions(options)) {
    for (const event of session.events) {
      if (events.length === count) return events;
      events.push(event);
    }
  }
  return events;
}

const AGENTS = ["Triage", "Researcher", "Writer", "Billing", "Support", "Planner", "Reviewer", "Coder"];
const MODELS: [provider: string, model: string][] = [
  ["openai", "gpt-4o-mini"],
  ["openai", "gpt-4o"],
  ["anthropic", "claude-sonnet-4"],
  ["google", "gemini-2.5-flash"],
];
const TOOLS = [
  { name: "search_orders", fn: "search_orders", keys: ["customer_email", "status", "order_id", "limit"] },
  { name: "get_weather", fn: "get_forecast", keys: ["city", "days", "units"] },
  { name: "lookup_customer", fn: "lookup_customer", keys: ["customer_email", "include_history"] },
  { name: "create_ticket", fn: "create_ticket", keys: ["title", "priority", "order_id", "body"] },
  { name: "calculate_refund", fn: "calculate_refund", keys: ["order_id", "reason", "amount"] },
  { name: "web_search", fn: "search", keys: ["query", "max_results"] },
  { name: "send_email", fn: "send_email", keys: ["to", "subject", "body"] },
  { name: "query_database", fn: "run_sql", keys: ["sql", "timeout_ms"] },
];
const MCP_SERVERS = [
  { name: "filesystem", url: "stdio://mcp-server-filesystem", ops: ["resources/read", "tools/call", "resources/list"] },
  { name: "github", url: "https://mcp.github.example/mcp", ops: ["tools/call", "tools/list"] },
  { name: "postgres", url: "stdio://mcp-server-postgres", ops: ["tools/call", "resources/read"] },
];
const DATASOURCES = ["vector://products", "vector://support-kb", "postgres://crm/customers", "s3://contracts"];
const POLICIES = ["pii-guard", "spend-limit", "tool-allowlist", "jailbreak-filter"];
const CITIES = ["Paris", "Berlin", "Lisbon", "Tokyo", "Austin", "Nairobi", "Lima", "Oslo"];
const WORDS = (
  "the a customer order refund shipping delivery package account invoice payment card subscription plan " +
  "upgrade cancel status tracking number address email phone support ticket issue problem error please " +
  "help thanks question answer policy return warranty product item price discount coupon total amount " +
  "date week month today tomorrow yesterday weather forecast temperature rain sunny report summary draft " +
  "review approve reject escalate manager team schedule meeting calendar document contract clause section " +
  "database query table column index search results relevant context retrieved chunk source citation " +
  "step plan reasoning tool call function arguments output response model token limit retry timeout"
).split(" ");

function words(random: Random, count: number): string {
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(random.pick(WORDS));
  return out.join(" ");
}

type EventInit = MessageInitShape<typeof EventSchema>;

/** Builds one session: its events get increasing timestamps and their own span ids. */
class SessionBuilder {
  readonly #random: Random;
  readonly #events: Event[] = [];
  readonly #tenantId: string;
  readonly #projectId: string;
  readonly #sessionId: string;
  readonly #tags: string[];
  readonly #traceIds: string[] = [];
  readonly #orderIds: string[] = [];
  readonly #framework: string;
  #nowMs: number;
  #traceId = "";

  constructor(random: Random, tenant: number, startMs: number) {
    this.#random = random;
    this.#nowMs = startMs;
    this.#tenantId = `tenant-${String(tenant).padStart(3, "0")}`;
    this.#projectId = `project-${random.int(1 + (tenant % 4))}`;
    this.#sessionId = uuid7(startMs, random);
    this.#framework = random.pick(["openai_agents", "crewai", "google_adk", "langchain"]);
    this.#tags = [
      `env:${random.chance(0.8) ? "prod" : "staging"}`,
      `region:${random.pick(["eu-west-1", "us-east-1"])}`,
    ];
  }

  build(): Session {
    const r = this.#random;
    const root = this.#emit({
      type: EventType.SESSION_START,
      status: EventStatus.STARTED,
      author: Author.SYSTEM,
      metadata: { framework: this.#framework, sdk: "chaukas-sdk", sdk_version: "0.1.0", python: "3.12.7" },
    });
    const runs = r.between(1, 3);
    for (let run = 0; run < runs; run++) this.#run(root);
    this.#emit({ type: EventType.SESSION_END, status: EventStatus.COMPLETED, author: Author.SYSTEM }, root);
    return {
      tenantId: this.#tenantId,
      projectId: this.#projectId,
      sessionId: this.#sessionId,
      traceIds: this.#traceIds,
      events: this.#events,
      orderIds: this.#orderIds,
    };
  }

  /** One agent run (one trace): input, turns of model + tools, output. */
  #run(root: Event): void {
    const r = this.#random;
    this.#traceId = uuid7(this.#nowMs, r);
    this.#traceIds.push(this.#traceId);
    let agent = r.pick(AGENTS);
    let agentSpan = this.#agentStart(agent, root);
    const question = `${words(r, r.between(8, 30))}?`;
    this.#emit(
      {
        type: EventType.INPUT_RECEIVED,
        author: Author.USER,
        content: { case: "message", value: { role: "user", text: question } },
      },
      agentSpan,
    );
    const turns = r.between(2, 7);
    for (let turn = 0; turn < turns; turn++) {
      this.#modelCall(agent, agentSpan, turn);
      if (r.chance(0.65)) this.#toolCall(agent, agentSpan);
      if (r.chance(0.15)) this.#mcpCall(agent, agentSpan);
      if (r.chance(0.12)) this.#dataAccess(agent, agentSpan);
      if (r.chance(0.12)) this.#policy(agent, agentSpan);
      if (r.chance(0.08) && turn < turns - 1) {
        const next = r.pick(AGENTS.filter((a) => a !== agent));
        this.#emit(
          {
            type: EventType.AGENT_HANDOFF,
            author: Author.AGENT,
            agentId: agentId(agent),
            agentName: agent,
            content: {
              case: "agentHandoff",
              value: {
                fromAgentId: agentId(agent),
                fromAgentName: agent,
                toAgentId: agentId(next),
                toAgentName: next,
                handoffData: { topic: words(r, 3), priority: r.pick(["low", "normal", "high"]) },
                reason: `needs ${next.toLowerCase()} expertise`,
                handoffType: r.pick(["sequential", "sequential", "conditional", "parallel"]),
              },
            },
          },
          agentSpan,
        );
        this.#agentEnd(agent, agentSpan);
        agent = next;
        agentSpan = this.#agentStart(agent, root);
      }
    }
    this.#emit(
      {
        type: EventType.OUTPUT_EMITTED,
        author: Author.AGENT,
        agentId: agentId(agent),
        agentName: agent,
        content: { case: "message", value: { role: "assistant", text: words(r, r.between(20, 80)) } },
      },
      agentSpan,
    );
    this.#agentEnd(agent, agentSpan);
  }

  #agentStart(agent: string, root: Event): Event {
    return this.#emit(
      {
        type: EventType.AGENT_START,
        status: EventStatus.STARTED,
        author: Author.AGENT,
        agentId: agentId(agent),
        agentName: agent,
        metadata: { instructions_chars: 400 + this.#random.int(2000), tools: TOOLS.length },
      },
      root,
    );
  }

  #agentEnd(agent: string, agentSpan: Event): void {
    this.#emit(
      { type: EventType.AGENT_END, status: EventStatus.COMPLETED, author: Author.AGENT, ...agentOf(agent) },
      agentSpan,
    );
  }

  #modelCall(agent: string, agentSpan: Event, turn: number): void {
    const r = this.#random;
    const [provider, model] = r.pick(MODELS);
    const invocationId = uuid7(this.#nowMs, r);
    // A rate limit now and then: the SDK reports the error and the retry, then the call again.
    if (r.chance(0.03)) {
      this.#emit(
        {
          type: EventType.ERROR,
          status: EventStatus.FAILED,
          severity: Severity.ERROR,
          author: Author.LLM,
          ...agentOf(agent),
          content: {
            case: "error",
            value: {
              errorMessage: `Rate limit reached for ${model} in organization org-${r.hex(8)} on tokens per min`,
              errorCode: "429",
              stackTrace: `Traceback (most recent call last):\n  File "agents/run.py", line ${r.between(100, 900)}, in _call\n    raise RateLimitError`,
              recoverable: true,
              recoveryAction: "retry",
            },
          },
        },
        agentSpan,
      );
      this.#retry(agent, agentSpan, 500 * r.between(1, 4));
    }
    const request = this.#llmRequest(model, turn);
    const start = this.#emit(
      {
        type: EventType.MODEL_INVOCATION_START,
        status: EventStatus.STARTED,
        author: Author.LLM,
        ...agentOf(agent),
        invocationId,
        content: {
          case: "llmInvocation",
          value: { provider, model, request, temperature: 0.2, maxTokens: 1024, topP: 1 },
        },
      },
      agentSpan,
    );
    const durationMs = r.between(300, 6000);
    this.#nowMs += durationMs;
    const promptTokens = r.between(400, 6000);
    const completionTokens = r.between(20, 900);
    const finishReason = r.chance(0.55) ? "tool_calls" : r.chance(0.97) ? "stop" : "length";
    this.#emit(
      {
        type: EventType.MODEL_INVOCATION_END,
        status: EventStatus.COMPLETED,
        author: Author.LLM,
        ...agentOf(agent),
        invocationId,
        responseId: `chatcmpl-${r.hex(24)}`,
        content: {
          case: "llmInvocation",
          value: {
            provider,
            model,
            response: this.#llmResponse(model, finishReason),
            promptTokens,
            completionTokens,
            totalTokens: promptTokens + completionTokens,
            temperature: 0.2,
            maxTokens: 1024,
            topP: 1,
            startTime: start.timestamp,
            endTime: timestamp(this.#nowMs),
            durationMs,
            finishReason,
          },
        },
        cost: {
          provider,
          service: "chat.completions",
          inputTokens: promptTokens,
          outputTokens: completionTokens,
          totalTokens: promptTokens + completionTokens,
          inputCost: promptTokens * 1.5e-7,
          outputCost: completionTokens * 6e-7,
          totalCost: promptTokens * 1.5e-7 + completionTokens * 6e-7,
          currency: "USD",
          inputRatePerToken: 1.5e-7,
          outputRatePerToken: 6e-7,
        },
        performance: { durationMs, latencyMs: durationMs, throughput: completionTokens / (durationMs / 1000) },
      },
      agentSpan,
    );
  }

  /** A chat request as the SDK serialises it: system prompt, history, tool schemas. 1-4 KB. */
  #llmRequest(model: string, turn: number): JsonObject {
    const r = this.#random;
    const messages: JsonObject[] = [{ role: "system", content: words(r, r.between(30, 90)) }];
    for (let i = 0; i <= turn && i < 4; i++) {
      messages.push({ role: i % 2 ? "assistant" : "user", content: words(r, r.between(10, 60)) });
    }
    const tools = TOOLS.slice(0, r.between(1, 4)).map((t) => ({
      type: "function",
      function: {
        name: t.name,
        description: words(r, 12),
        parameters: {
          type: "object",
          properties: Object.fromEntries(t.keys.map((k) => [k, { type: "string", description: words(r, 5) }])),
          required: [t.keys[0]],
        },
      },
    }));
    return { model, messages, tools, temperature: 0.2, max_tokens: 1024, stream: false };
  }

  #llmResponse(model: string, finishReason: string): JsonObject {
    const r = this.#random;
    const message: JsonObject =
      finishReason === "tool_calls"
        ? {
            role: "assistant",
            content: null,
            tool_calls: [
              {
                id: `call_${r.hex(16)}`,
                type: "function",
                function: { name: r.pick(TOOLS).name, arguments: `{"query": "${words(r, 6)}"}` },
              },
            ],
          }
        : { role: "assistant", content: words(r, r.between(60, 250)) };
    return {
      id: `chatcmpl-${r.hex(24)}`,
      object: "chat.completion",
      model,
      choices: [{ index: 0, message, finish_reason: finishReason, logprobs: null }],
      usage: { prompt_tokens: r.between(400, 6000), completion_tokens: r.between(20, 900) },
      system_fingerprint: `fp_${r.hex(10)}`,
    };
  }

  #toolCall(agent: string, agentSpan: Event): void {
    const r = this.#random;
    const tool = r.pick(TOOLS);
    const callId = `call_${r.hex(16)}`;
    const args: JsonObject = {};
    for (const key of tool.keys) args[key] = this.#argument(key);
    const call = () =>
      this.#emit(
        {
          type: EventType.TOOL_CALL_START,
          status: EventStatus.STARTED,
          author: Author.TOOL,
          ...agentOf(agent),
          content: {
            case: "toolCall",
            value: { id: callId, name: tool.name, functionName: tool.fn, arguments: args, authRequired: r.chance(0.1) },
          },
        },
        agentSpan,
      );
    call();
    const executionTimeMs = r.between(5, 2500);
    this.#nowMs += executionTimeMs;
    if (r.chance(0.05)) {
      // A failed tool call, reported, retried once, and then succeeding.
      this.#emit(
        {
          type: EventType.TOOL_CALL_END,
          status: EventStatus.FAILED,
          severity: Severity.ERROR,
          author: Author.TOOL,
          ...agentOf(agent),
          content: {
            case: "toolResponse",
            value: {
              toolCallId: callId,
              errorMessage: "upstream timed out after 30s",
              executionTimeMs,
              httpStatus: 504,
            },
          },
        },
        agentSpan,
      );
      this.#retry(agent, agentSpan, 1000);
      call();
      this.#nowMs += r.between(5, 2500);
    }
    this.#emit(
      {
        type: EventType.TOOL_CALL_END,
        status: EventStatus.COMPLETED,
        author: Author.TOOL,
        ...agentOf(agent),
        content: {
          case: "toolResponse",
          value: { toolCallId: callId, output: this.#toolOutput(tool.name), executionTimeMs, httpStatus: 200 },
        },
        performance: { durationMs: executionTimeMs, latencyMs: executionTimeMs },
      },
      agentSpan,
    );
  }

  #argument(key: string): string {
    const r = this.#random;
    switch (key) {
      case "order_id": {
        const id = `ord${r.between(10_000_000, 99_999_999)}`;
        this.#orderIds.push(id);
        return id;
      }
      case "customer_email":
      case "to":
        return `user${r.int(100_000)}@example.com`;
      case "city":
        return r.pick(CITIES);
      case "sql":
        return `SELECT id, status, total FROM orders WHERE customer_id = ${r.int(1e6)} ORDER BY created_at DESC LIMIT 10`;
      case "body":
        return words(r, r.between(15, 60));
      default:
        return words(r, r.between(1, 4));
    }
  }

  #toolOutput(tool: string): JsonObject {
    const r = this.#random;
    if (tool === "get_weather") {
      return {
        city: r.pick(CITIES),
        forecast: Array.from({ length: 3 }, (_, d) => ({
          day: d,
          temp_c: r.between(-5, 35),
          sky: r.pick(["clear", "rain", "clouds"]),
        })),
      };
    }
    const rows = Array.from({ length: r.between(1, 6) }, () => ({
      id: `ord${r.between(10_000_000, 99_999_999)}`,
      status: r.pick(["shipped", "pending", "delivered", "refunded"]),
      total: r.between(500, 50_000) / 100,
      note: words(r, r.between(3, 12)),
    }));
    return { ok: true, count: rows.length, results: rows };
  }

  #mcpCall(agent: string, agentSpan: Event): void {
    const r = this.#random;
    const server = r.pick(MCP_SERVERS);
    const operation = r.pick(server.ops);
    const request = {
      uri: `file:///workspace/${r.pick(WORDS)}/${r.pick(WORDS)}.md`,
      arguments: { query: words(r, 4) },
    };
    const common = {
      serverName: server.name,
      serverUrl: server.url,
      operation,
      method: "POST",
      protocolVersion: "2025-06-18",
    };
    this.#emit(
      {
        type: EventType.MCP_CALL_START,
        status: EventStatus.STARTED,
        author: Author.TOOL,
        ...agentOf(agent),
        content: { case: "mcpCall", value: { ...common, request } },
      },
      agentSpan,
    );
    const executionTimeMs = r.between(3, 800);
    this.#nowMs += executionTimeMs;
    this.#emit(
      {
        type: EventType.MCP_CALL_END,
        status: EventStatus.COMPLETED,
        author: Author.TOOL,
        ...agentOf(agent),
        content: {
          case: "mcpCall",
          value: {
            ...common,
            request,
            response: { content: [{ type: "text", text: words(r, r.between(20, 120)) }] },
            executionTimeMs,
          },
        },
      },
      agentSpan,
    );
  }

  #dataAccess(agent: string, agentSpan: Event): void {
    const r = this.#random;
    const pii = r.chance(0.3) ? [r.pick(["EMAIL", "PHONE", "ADDRESS", "NAME"])] : [];
    this.#emit(
      {
        type: EventType.DATA_ACCESS,
        author: Author.AGENT,
        ...agentOf(agent),
        content: {
          case: "dataAccess",
          value: {
            datasource: r.pick(DATASOURCES),
            documentIds: Array.from({ length: r.between(1, 5) }, () => `doc-${r.hex(8)}`),
            chunkIds: Array.from({ length: r.between(1, 8) }, () => `chunk-${r.hex(10)}`),
            piiCategories: pii,
          },
        },
        piiCategories: pii,
      },
      agentSpan,
    );
  }

  #policy(agent: string, agentSpan: Event): void {
    const r = this.#random;
    const outcome = r.chance(0.85) ? "allow" : r.chance(0.7) ? "deny" : "review";
    this.#emit(
      {
        type: EventType.POLICY_DECISION,
        severity: outcome === "deny" ? Severity.WARN : Severity.INFO,
        author: Author.SYSTEM,
        ...agentOf(agent),
        content: {
          case: "policy",
          value: {
            policyId: r.pick(POLICIES),
            outcome,
            ruleIds: [`rule-${r.int(40)}`, `rule-${r.int(40)}`],
            rationale: words(r, r.between(6, 20)),
          },
        },
      },
      agentSpan,
    );
  }

  /** The SDK's RETRY event after a failed call: the first attempt again, after `backoffMs`. */
  #retry(agent: string, parent: Event, backoffMs: number): Event {
    return this.#emit(
      {
        type: EventType.RETRY,
        status: EventStatus.IN_PROGRESS,
        severity: Severity.WARN,
        author: Author.SYSTEM,
        ...agentOf(agent),
        retry: { attempt: 1, strategy: "exponential_backoff", backoffMs },
      },
      parent,
    );
  }

  /** Appends an event one step later than the previous one, with its own span under `parent`. */
  #emit(init: EventInit, parent?: Event): Event {
    const r = this.#random;
    this.#nowMs += r.between(1, 400) + r.next();
    const event = create(EventSchema, {
      eventId: uuid7(this.#nowMs, r),
      tenantId: this.#tenantId,
      projectId: this.#projectId,
      sessionId: this.#sessionId,
      traceId: this.#traceId,
      spanId: uuid7(this.#nowMs, r),
      parentSpanId: parent?.spanId ?? "",
      severity: Severity.INFO,
      status: EventStatus.COMPLETED,
      timestamp: timestamp(this.#nowMs),
      tags: this.#tags,
      ...init,
    });
    this.#events.push(event);
    return event;
  }
}

function agentId(agent: string): string {
  return `agent-${agent.toLowerCase()}`;
}

function agentOf(agent: string): { agentId: string; agentName: string } {
  return { agentId: agentId(agent), agentName: agent };
}

/** Microsecond precision, as Python's datetime gives. */
function timestamp(ms: number): Timestamp {
  const micros = Math.floor(ms * 1000);
  return create(TimestampSchema, { seconds: BigInt(Math.floor(micros / 1e6)), nanos: (micros % 1e6) * 1000 });
}
