import type { JsonValue } from "@bufbuild/protobuf";
import type { ComponentChildren } from "preact";
import type { Event } from "../../../gen/chaukas/spec/common/v1/events_pb.ts";
import type { Api } from "../api.ts";
import { absoluteTime, duration, isoTime, millisOf, money, nanosOf, relativeTime } from "../format.ts";
import { authorName, severityName, statusName, typeName } from "../names.ts";
import { isFailure, type WaterfallRow } from "../waterfall/tree.ts";
import { ProofPanel } from "./proof-panel.tsx";

/** The events of one waterfall row (a span's START and END, or one event), each in full. */
export function EventDetail({ api, row, sessionStartNs }: { api: Api; row: WaterfallRow; sessionStartNs: bigint }) {
  return (
    <div class="detail-body">
      {row.events.map((event) => (
        <EventCard key={event.eventId} api={api} event={event} sessionStartNs={sessionStartNs} />
      ))}
    </div>
  );
}

function EventCard({ api, event, sessionStartNs }: { api: Api; event: Event; sessionStartNs: bigint }) {
  const at = millisOf(event.timestamp);
  const offset = Number(nanosOf(event.timestamp) - sessionStartNs) / 1e6;
  return (
    <article class={isFailure(event) ? "event-card failed" : "event-card"} aria-label={typeName(event.type)}>
      <header>
        <span class="badge type">{typeName(event.type)}</span>
        {event.status ? (
          <span class={`badge status-${statusName(event.status).toLowerCase()}`}>
            {statusName(event.status).toLowerCase()}
          </span>
        ) : null}
        {event.severity ? (
          <span class={`badge severity-${severityName(event.severity).toLowerCase()}`}>
            {severityName(event.severity).toLowerCase()}
          </span>
        ) : null}
        <span class="muted small" title={isoTime(at)}>
          {absoluteTime(at)} · {relativeTime(at)} · +{duration(offset)}
        </span>
      </header>
      <Content event={event} />
      <Section title="Event">
        <KeyValues
          pairs={[
            ["event id", event.eventId],
            ["span", event.spanId],
            ["parent span", event.parentSpanId],
            ["trace", event.traceId],
            ["agent", [event.agentName, event.agentId].filter(Boolean).join(" · ")],
            ["author", event.author ? authorName(event.author).toLowerCase() : ""],
            ["invocation", event.invocationId],
            ["branch", event.branch],
          ]}
        />
      </Section>
      {event.tags.length || event.redaction || event.piiCategories.length ? (
        <div class="badges">
          {event.tags.map((tag) => (
            <span key={tag} class="badge tag">
              {tag}
            </span>
          ))}
          {event.redaction?.fields.map((field) => (
            <span
              key={field}
              class="badge redacted"
              title={`Redacted by ${event.redaction?.method || "the SDK"}${event.redaction?.saltId ? `, salt ${event.redaction.saltId}` : ""}`}
            >
              redacted: {field}
            </span>
          ))}
          {event.redaction && event.redaction.fields.length === 0 ? (
            <span class="badge redacted">redacted ({event.redaction.method})</span>
          ) : null}
          {event.piiCategories.map((category) => (
            <span key={category} class="badge pii">
              PII: {category}
            </span>
          ))}
        </div>
      ) : null}
      {event.retry ? (
        <Section title="Retry">
          <KeyValues
            pairs={[
              ["attempt", String(event.retry.attempt)],
              ["strategy", event.retry.strategy],
              ["backoff", duration(event.retry.backoffMs)],
            ]}
          />
        </Section>
      ) : null}
      {event.cost ? (
        <Section title="Cost">
          <KeyValues
            pairs={[
              ["provider", [event.cost.provider, event.cost.service].filter(Boolean).join(" · ")],
              [
                "tokens",
                `${event.cost.inputTokens} in · ${event.cost.outputTokens} out · ${event.cost.totalTokens} total`,
              ],
              ["cost", money(event.cost.totalCost, event.cost.currency)],
            ]}
          />
        </Section>
      ) : null}
      {event.performance ? (
        <Section title="Performance">
          <KeyValues
            pairs={[
              ["duration", event.performance.durationMs ? duration(event.performance.durationMs) : ""],
              ["latency", event.performance.latencyMs ? duration(event.performance.latencyMs) : ""],
              ["cpu", event.performance.cpuPercent ? `${event.performance.cpuPercent}%` : ""],
              ["memory", event.performance.memoryMb ? `${event.performance.memoryMb} MB` : ""],
            ]}
          />
        </Section>
      ) : null}
      {event.metadata && Object.keys(event.metadata).length ? (
        <Section title="Metadata">
          <Json value={event.metadata} />
        </Section>
      ) : null}
      <ProofPanel api={api} event={event} />
    </article>
  );
}

/** The event's content, by kind. */
function Content({ event }: { event: Event }) {
  const { content } = event;
  switch (content.case) {
    case "llmInvocation": {
      const llm = content.value;
      return (
        <Section title="Model call">
          <KeyValues
            pairs={[
              ["model", [llm.provider, llm.model].filter(Boolean).join(" / ")],
              [
                "tokens",
                llm.totalTokens || llm.promptTokens
                  ? `${llm.promptTokens} prompt · ${llm.completionTokens} completion · ${llm.totalTokens} total`
                  : "",
              ],
              ["finish", llm.finishReason],
              ["duration", llm.durationMs ? duration(llm.durationMs) : ""],
              ["temperature", llm.temperature ? String(llm.temperature) : ""],
              ["max tokens", llm.maxTokens ? String(llm.maxTokens) : ""],
            ]}
          />
          {llm.request ? <Messages title="Request" value={llm.request} /> : null}
          {llm.response ? <Messages title="Response" value={llm.response} /> : null}
        </Section>
      );
    }
    case "toolCall":
      return (
        <Section title={`Tool call: ${content.value.name || content.value.functionName}`}>
          <KeyValues
            pairs={[
              ["call id", content.value.id],
              ["function", content.value.functionName],
              ["auth required", content.value.authRequired ? "yes" : ""],
            ]}
          />
          {content.value.arguments ? <Labelled label="Arguments" value={content.value.arguments} /> : null}
        </Section>
      );
    case "toolResponse":
      return (
        <Section title="Tool result">
          {content.value.errorMessage ? <p class="error-box">{content.value.errorMessage}</p> : null}
          <KeyValues
            pairs={[
              ["call id", content.value.toolCallId],
              ["took", content.value.executionTimeMs ? duration(content.value.executionTimeMs) : ""],
              ["HTTP status", content.value.httpStatus ? String(content.value.httpStatus) : ""],
            ]}
          />
          {content.value.output ? <Labelled label="Output" value={content.value.output} /> : null}
        </Section>
      );
    case "mcpCall":
      return (
        <Section title={`MCP call: ${content.value.serverName}`}>
          <KeyValues
            pairs={[
              ["server", [content.value.serverName, content.value.serverUrl].filter(Boolean).join(" · ")],
              ["operation", [content.value.operation, content.value.method].filter(Boolean).join(" · ")],
              ["protocol", content.value.protocolVersion],
              ["took", content.value.executionTimeMs ? duration(content.value.executionTimeMs) : ""],
            ]}
          />
          {content.value.request ? <Labelled label="Request" value={content.value.request} /> : null}
          {content.value.response ? <Labelled label="Response" value={content.value.response} /> : null}
        </Section>
      );
    case "policy":
      return (
        <Section title="Policy decision">
          <KeyValues
            pairs={[
              ["policy", content.value.policyId],
              ["outcome", content.value.outcome],
              ["rules", content.value.ruleIds.join(", ")],
              ["rationale", content.value.rationale],
            ]}
          />
        </Section>
      );
    case "dataAccess":
      return (
        <Section title="Data access">
          <KeyValues
            pairs={[
              ["source", content.value.datasource],
              ["documents", content.value.documentIds.join(", ")],
              ["chunks", content.value.chunkIds.join(", ")],
              ["PII", content.value.piiCategories.join(", ")],
            ]}
          />
        </Section>
      );
    case "error":
      return (
        <Section title="Error">
          <div class="error-box" role="alert">
            <strong>{content.value.errorMessage || "Error"}</strong>
            {content.value.errorCode ? <span class="muted"> ({content.value.errorCode})</span> : null}
            <div class="small">
              {content.value.recoverable ? "recoverable" : "not recoverable"}
              {content.value.recoveryAction ? ` · ${content.value.recoveryAction}` : ""}
            </div>
          </div>
          {content.value.stackTrace ? <pre class="code stack">{content.value.stackTrace}</pre> : null}
        </Section>
      );
    case "agentHandoff":
      return (
        <Section title="Handoff">
          <KeyValues
            pairs={[
              ["from", content.value.fromAgentName || content.value.fromAgentId],
              ["to", content.value.toAgentName || content.value.toAgentId],
              ["reason", content.value.reason],
              ["type", content.value.handoffType],
            ]}
          />
          {content.value.handoffData ? <Labelled label="Data" value={content.value.handoffData} /> : null}
        </Section>
      );
    case "message":
      return (
        <Section title={`Message (${content.value.role || "unknown role"})`}>
          <p class="message-text">{content.value.text}</p>
        </Section>
      );
    case "stateUpdate":
      return (
        <Section title="State update">
          <Json value={content.value as JsonValue} />
        </Section>
      );
    default:
      return null;
  }
}

/** A chat request or response: its `messages` (or `choices`) as a transcript, the rest as JSON. */
function Messages({ title, value }: { title: string; value: { [key: string]: JsonValue } }) {
  const list = Array.isArray(value.messages)
    ? value.messages
    : Array.isArray(value.choices)
      ? value.choices.map((c) => (c as { message?: JsonValue })?.message ?? c)
      : undefined;
  if (!list) return <Labelled label={title} value={value} />;
  const { messages: _m, choices: _c, ...rest } = value;
  return (
    <div class="labelled">
      <h4>{title}</h4>
      <ol class="transcript">
        {list.map((message, i) => {
          const m = (message ?? {}) as { role?: JsonValue; content?: JsonValue };
          return (
            <li key={i}>
              <span class="role">{String(m.role ?? "")}</span>
              {typeof m.content === "string" ? (
                <span class="message-text">{m.content}</span>
              ) : (
                <Json value={(m.content ?? message) as JsonValue} />
              )}
            </li>
          );
        })}
      </ol>
      {Object.keys(rest).length ? <Json value={rest} /> : null}
    </div>
  );
}

function Labelled({ label, value }: { label: string; value: JsonValue }) {
  return (
    <div class="labelled">
      <h4>{label}</h4>
      <Json value={value} />
    </div>
  );
}

export function Json({ value }: { value: JsonValue }) {
  return <pre class="code">{JSON.stringify(value, null, 2)}</pre>;
}

function Section({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <section class="section">
      <h3>{title}</h3>
      {children}
    </section>
  );
}

/** Name/value lines; empty values are left out. */
function KeyValues({ pairs }: { pairs: [string, string][] }) {
  const shown = pairs.filter(([, value]) => value);
  if (shown.length === 0) return null;
  return (
    <dl class="kv">
      {shown.map(([name, value]) => (
        <div key={name}>
          <dt>{name}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}
