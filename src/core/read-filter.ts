import type { QueryFilter, TimeRange } from "../../gen/chaukas/spec/common/v1/query_pb.ts";
import { type FieldViolation, InvalidArgumentError } from "../lib/errors.ts";
import { timestampProblem, timestampToNs } from "../lib/timestamps.ts";
import type { EventFilter } from "../store/event-store.ts";
import { type Principal, scopeRead } from "./access.ts";
import { snakeCase } from "./event-rules.ts";
import { idViolations } from "./ids.ts";

/**
 * A read's QueryFilter in the principal's scope (scopeRead), and as the store's filter. A missing
 * tenant is refused at once; other problems are added to `violations` for the caller to throw
 * with its own. `at` names a filter field in error messages.
 */
export function readFilter(
  principal: Principal,
  requested: QueryFilter | undefined,
  at: (field: string) => string,
  violations: FieldViolation[],
): { filter: QueryFilter; storeFilter: EventFilter } {
  const filter = requested && { ...requested, ...scopeRead(principal, requested.tenantId, requested.projectId) };
  if (!filter?.tenantId)
    throw new InvalidArgumentError([{ field: at("filter.tenant_id"), description: "is required" }]);
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
