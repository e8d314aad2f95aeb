import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { EventStatus, Severity } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import type { QueryFilterSchema } from "../../gen/chaukas/spec/common/v1/query_pb.ts";

/** The filters of the sessions and statistics views, as they stand in the URL's query string. */
export interface Filters {
  /** One of RANGES' keys. */
  range: string;
  tenant: string;
  project: string;
  agent: string;
  /** An EventStatus name, e.g. FAILED. */
  status: string;
  /** A Severity name, e.g. ERROR. */
  severity: string;
  /** Comma-separated; an event must carry every one. */
  tags: string;
  /** Full text, as QueryFilter.text_query. */
  q: string;
}

export const RANGES: Record<string, { label: string; ms: number }> = {
  "1h": { label: "Last hour", ms: 3_600_000 },
  "24h": { label: "Last 24 hours", ms: 86_400_000 },
  "7d": { label: "Last 7 days", ms: 7 * 86_400_000 },
  "30d": { label: "Last 30 days", ms: 30 * 86_400_000 },
  all: { label: "All time", ms: 0 },
};
export const DEFAULT_RANGE = "24h";

const FIELDS = ["range", "tenant", "project", "agent", "status", "severity", "tags", "q"] as const;

export function filtersOf(params: URLSearchParams): Filters {
  const filters = Object.fromEntries(FIELDS.map((field) => [field, params.get(field) ?? ""])) as unknown as Filters;
  if (!(filters.range in RANGES)) filters.range = DEFAULT_RANGE;
  return filters;
}

/** The query string of `filters`, leaving out what is empty or the default. */
export function paramsOf(filters: Filters): Record<string, string> {
  return Object.fromEntries(
    FIELDS.map((field) => [field, field === "range" && filters.range === DEFAULT_RANGE ? "" : filters[field]]),
  );
}

/**
 * The range as a TimeRange, always with a start: GetUsage reads a missing start as the last 24
 * hours, so "all" starts at the Unix epoch. "all" has no end either: an event stamped ahead of
 * this clock is still in it (GetUsage ends at the server's now).
 */
export function timeRangeOf(range: string, now = Date.now()) {
  const { ms } = RANGES[range] ?? RANGES[DEFAULT_RANGE];
  return ms ? { start: timestampFromMs(now - ms), end: timestampFromMs(now + 60_000) } : { start: timestampFromMs(0) };
}

export function queryFilterOf(filters: Filters, now = Date.now()): MessageInitShape<typeof QueryFilterSchema> {
  const status = EventStatus[filters.status as keyof typeof EventStatus];
  const severity = Severity[filters.severity as keyof typeof Severity];
  return {
    tenantId: filters.tenant,
    projectId: filters.project,
    agentId: filters.agent,
    statuses: status ? [status] : [],
    severities: severity ? [severity] : [],
    tags: filters.tags
      .split(",")
      .map((tag) => tag.trim())
      .filter(Boolean),
    textQuery: filters.q,
    time: timeRangeOf(filters.range, now),
  };
}
