import type { Event } from "../../../gen/chaukas/spec/common/v1/events_pb.ts";
import type { ExportLogsServiceRequest } from "../../../gen/opentelemetry/proto/collector/logs/v1/logs_service_pb.ts";
import type { ExportTraceServiceRequest } from "../../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.ts";
import type { Span } from "../../../gen/opentelemetry/proto/trace/v1/trace_pb.ts";
import { authorize, type Principal } from "../access.ts";
import { type EventService, MAX_BATCH_EVENTS } from "../event-service.ts";
import { exportScope } from "./export-scope.ts";
import { logEvents } from "./log-events.ts";
import { hexId } from "./otlp-ids.ts";
import { ATTR_GEN_AI_CONVERSATION_ID, ATTR_SESSION_ID } from "./semconv.ts";
import { spanEvents } from "./span-events.ts";

/** What an export answers: how many spans (or log records) were refused, and the first reasons why. */
export interface ExportOutcome {
  rejected: number;
  errorMessage: string;
}

/** How many refusal reasons the answer's message names. */
const REASONS_SHOWN = 3;
/** Every event needs a project; an exporter's is its resource's (export-scope.ts). */
const NO_PROJECT = "its resource names no project: set its service.name or chaukas.project_id attribute";

/**
 * OTLP exports as Chaukas events: each span or log record is mapped (span-events.ts,
 * log-events.ts) and the events go through the event service's batch ingest, with its checks, its
 * bounds and its idempotence by event id. A span is refused whole when any of its events is.
 */
export class OtlpIngest {
  readonly #events: EventService;

  constructor(events: EventService) {
    this.#events = events;
  }

  async exportTraces(principal: Principal, request: ExportTraceServiceRequest): Promise<ExportOutcome> {
    const sessions = traceSessions(request);
    const items: { label: string; events: Event[] | string }[] = [];
    request.resourceSpans.forEach((resourceSpans, r) => {
      for (const [s, scopeSpans] of resourceSpans.scopeSpans.entries()) {
        const scope = exportScope(principal, resourceSpans.resource, scopeSpans.scope, sessions);
        scopeSpans.spans.forEach((span, i) => {
          const label = `resource_spans[${r}].scope_spans[${s}].spans[${i}] (span ${hexId(span.spanId)})`;
          items.push({ label, events: scope.projectId ? spanEvents(span, scope) : NO_PROJECT });
        });
      }
    });
    return this.#ingest(principal, items);
  }

  async exportLogs(principal: Principal, request: ExportLogsServiceRequest): Promise<ExportOutcome> {
    const items: { label: string; events: Event[] | string }[] = [];
    request.resourceLogs.forEach((resourceLogs, r) => {
      for (const [s, scopeLogs] of resourceLogs.scopeLogs.entries()) {
        const scope = exportScope(principal, resourceLogs.resource, scopeLogs.scope, new Map());
        scopeLogs.logRecords.forEach((record, i) => {
          items.push({
            label: `resource_logs[${r}].scope_logs[${s}].log_records[${i}]`,
            events: scope.projectId ? logEvents(record, scope) : NO_PROJECT,
          });
        });
      }
    });
    return this.#ingest(principal, items);
  }

  /**
   * Ingests the items' events in batches of at most MAX_BATCH_EVENTS, an item's events always in
   * one batch. Events of an item of which some were refused are refused too only in the count:
   * those already stored stay (a re-sent, corrected item adds the rest under the same ids).
   */
  async #ingest(principal: Principal, items: { label: string; events: Event[] | string }[]): Promise<ExportOutcome> {
    authorize(principal, "ingest");
    const reasons: string[] = [];
    const refused = new Set<number>();
    let batch: Event[] = [];
    // Each event's place among its item's events (named in refusal reasons), and its item.
    let places: number[] = [];
    let owners = new Map<string, number>();
    const flush = async () => {
      if (batch.length === 0) return;
      const outcome = await this.#events.ingestBatch(principal, batch, "event", places);
      for (const rejection of outcome.rejected) {
        const owner = owners.get(rejection.eventId) ?? -1;
        if (!refused.has(owner)) reasons.push(`${items[owner]?.label ?? "a span"}: ${rejection.reason}`);
        refused.add(owner);
      }
      batch = [];
      places = [];
      owners = new Map();
    };
    for (const [index, item] of items.entries()) {
      if (typeof item.events === "string") {
        refused.add(index);
        reasons.push(`${item.label}: ${item.events}`);
        continue;
      }
      if (batch.length + item.events.length > MAX_BATCH_EVENTS) await flush();
      item.events.forEach((event, place) => {
        batch.push(event);
        places.push(place);
        owners.set(event.eventId, index);
      });
    }
    await flush();
    const shown = reasons.slice(0, REASONS_SHOWN).join("; ");
    const more = reasons.length > REASONS_SHOWN ? ` (and ${reasons.length - REASONS_SHOWN} more)` : "";
    return { rejected: refused.size, errorMessage: shown + more };
  }
}

/** The session each trace of the export names on any of its spans (`session.id`, else `gen_ai.conversation.id`). */
function traceSessions(request: ExportTraceServiceRequest): Map<string, string> {
  const sessions = new Map<string, string>();
  for (const resourceSpans of request.resourceSpans) {
    for (const scopeSpans of resourceSpans.scopeSpans) {
      for (const span of scopeSpans.spans) {
        const named = sessionAttribute(span);
        if (named) sessions.set(hexId(span.traceId), named);
      }
    }
  }
  return sessions;
}

function sessionAttribute(span: Span): string | undefined {
  let conversation: string | undefined;
  for (const { key, value } of span.attributes) {
    if (value?.value.case !== "stringValue" || value.value.value === "") continue;
    if (key === ATTR_SESSION_ID) return value.value.value;
    if (key === ATTR_GEN_AI_CONVERSATION_ID) conversation = value.value.value;
  }
  return conversation;
}
