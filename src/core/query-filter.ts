import { type EventType, EventTypeSchema } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import type { QueryFilter, TimeRange } from "../../gen/chaukas/spec/common/v1/query_pb.ts";
import { type FieldViolation, InvalidArgumentError } from "../lib/errors.ts";
import { timestampProblem, timestampToNs } from "../lib/timestamps.ts";
import type { EventFilter } from "../store/event-store.ts";
import { type Principal, scopeRead } from "./access.ts";
import { snakeCase } from "./event-rules.ts";
import { idViolations } from "./ids.ts";

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

/**
 * A QueryFilter put in the caller's scope (access.ts) and checked: the filter as scoped (what page
 * tokens are bound to) and as the store takes it. Problems are added to `violations`; a missing
 * tenant is thrown at once. `at` names a field of the request in error messages.
 */
export function readQueryFilter(
  principal: Principal,
  requested: QueryFilter | undefined,
  at: (field: string) => string,
  violations: FieldViolation[],
): { filter: QueryFilter; storeFilter: EventFilter } {
  const filter = requested && {
    ...requested,
    ...scopeRead(principal, requested.tenantId, requested.projectId),
  };
  if (!filter?.tenantId) {
    throw new InvalidArgumentError([{ field: at("filter.tenant_id"), description: "is required" }]);
  }
  // Ids are compared as stored, so NUL cannot match and is refused; text_query is only words.
  const ids: Record<string, string> = {};
  for (const key of ["tenantId", "projectId", "sessionId", "agentId", "spanId", "traceId"] as const) {
    ids[at(`filter.${snakeCase(key)}`)] = filter[key];
  }
  filter.tags.forEach((tag, i) => {
    ids[at(`filter.tags[${i}]`)] = tag;
  });
  violations.push(...idViolations(ids));
  const range = timeRangeBounds(filter.time, at("filter.time"), violations);
  const storeFilter: EventFilter = {
    tenantId: filter.tenantId,
    projectId: filter.projectId,
    sessionId: filter.sessionId,
    agentId: filter.agentId,
    spanId: filter.spanId,
    traceId: filter.traceId,
    types: filter.types,
    statuses: filter.statuses,
    severities: filter.severities,
    tags: filter.tags,
    textQuery: filter.textQuery.trim(),
    ...range,
  };
  return { filter, storeFilter };
}

/**
 * The tenant, project and time range of a read of figures (GetEventStats, GetUsage) in the
 * caller's scope; problems are added to `violations`, a missing tenant is thrown at once.
 */
export function readScopedRange(
  principal: Principal,
  request: { tenantId: string; projectId: string; timeRange?: TimeRange },
  violations: FieldViolation[],
): { tenantId: string; projectId: string; startNs?: bigint; endNs?: bigint } {
  const { tenantId, projectId } = scopeRead(principal, request.tenantId, request.projectId);
  if (!tenantId) throw new InvalidArgumentError([{ field: "tenant_id", description: "is required" }]);
  violations.push(...idViolations({ tenant_id: tenantId, project_id: projectId }));
  return { tenantId, projectId, ...timeRangeBounds(request.timeRange, "time_range", violations) };
}

/** A TimeRange as store bounds: start inclusive, end exclusive, either may be absent. */
export function timeRangeBounds(
  range: TimeRange | undefined,
  field: string,
  violations: FieldViolation[],
): { startNs?: bigint; endNs?: bigint } {
  const bounds: { startNs?: bigint; endNs?: bigint } = {};
  for (const side of ["start", "end"] as const) {
    const ts = range?.[side];
    if (!ts) continue;
    const problem = timestampProblem(ts);
    if (problem) violations.push({ field: `${field}.${side}`, description: problem });
    else bounds[`${side}Ns`] = timestampToNs(ts);
  }
  if (bounds.startNs !== undefined && bounds.endNs !== undefined && bounds.endNs < bounds.startNs) {
    violations.push({ field: `${field}.end`, description: "is before start" });
  }
  return bounds;
}

/** A request's page_size: 0 is the default, above the maximum is the maximum, negative is refused. */
export function pageSizeOf(requested: number, field: string, violations: FieldViolation[]): number {
  if (requested < 0) violations.push({ field, description: "must not be negative" });
  return requested === 0 ? DEFAULT_PAGE_SIZE : Math.min(requested, MAX_PAGE_SIZE);
}

/** Counts by EventType, keyed by the type's full enum name (its number if unknown). */
export function namedByType(counts: Map<number, bigint>): Record<string, bigint> {
  const named: Record<string, bigint> = {};
  for (const [type, count] of counts) named[EventTypeSchema.value[type as EventType]?.name ?? String(type)] = count;
  return named;
}
