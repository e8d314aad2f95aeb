import { create } from "@bufbuild/protobuf";
import {
  type GetUsageRequest,
  type GetUsageResponse,
  GetUsageResponseSchema,
  type ListSessionsRequest,
  type ListSessionsResponse,
  ListSessionsResponseSchema,
  SessionSummarySchema,
  UsageBucketSchema,
  type UsageByKey,
  UsageByKeySchema,
} from "../../gen/chaukas/backend/v1/sessions_pb.ts";
import type { EventStatus, Severity } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import { QueryFilterSchema } from "../../gen/chaukas/spec/common/v1/query_pb.ts";
import { type FieldViolation, InvalidArgumentError } from "../lib/errors.ts";
import { nsToTimestamp } from "../lib/timestamps.ts";
import type { Database } from "../store/database.ts";
import type { SessionCursor, UsageKeyFigures } from "../store/event-store.ts";
import { authorize, type Principal } from "./access.ts";
import type { PageTokenCodec } from "./page-token.ts";
import { namedByType, pageSizeOf, readQueryFilter, readScopedRange } from "./query-filter.ts";

/** A GetUsage without a start covers this much before its end (now, without one). */
export const DEFAULT_USAGE_RANGE_SECONDS = 86_400;
/** The most buckets one GetUsage answers with. */
export const MAX_USAGE_BUCKETS = 10_000;
/** Bucket widths the server chooses from, smallest first: the first giving at most 60 buckets. */
const BUCKET_CHOICES = [60, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400, 604_800];
const TARGET_BUCKETS = 60n;
const NS_PER_S = 1_000_000_000n;
const PAGE_TOKEN_VIEW = "sessions";

/**
 * The dashboard's views (SessionService): sessions with their figures, and usage over time, by
 * model and by agent. The keys and scope rules of QueryEvents; figures from the usage rollups.
 */
export class SessionViews {
  readonly #store: Database;
  readonly #pageTokens: PageTokenCodec;
  readonly #nowNs: () => bigint;

  constructor(store: Database, pageTokens: PageTokenCodec, nowNs = () => BigInt(Date.now()) * 1_000_000n) {
    this.#store = store;
    this.#pageTokens = pageTokens;
    this.#nowNs = nowNs;
  }

  async listSessions(principal: Principal, request: ListSessionsRequest): Promise<ListSessionsResponse> {
    authorize(principal, "read");
    const violations: FieldViolation[] = [];
    // No filter is the empty one: every session of the key's tenant (and projects).
    const requested = request.filter ?? create(QueryFilterSchema);
    const { filter, storeFilter } = readQueryFilter(principal, requested, (field) => field, violations);
    const pageSize = pageSizeOf(request.pageSize, "page_size", violations);
    if (violations.length > 0) throw new InvalidArgumentError(violations);
    const after = request.pageToken
      ? sessionCursor(this.#pageTokens.decodeView(PAGE_TOKEN_VIEW, request.pageToken, filter, "page_token"))
      : undefined;
    // One extra row tells whether another page exists.
    const rows = await this.#store.listSessions(
      { tenantId: filter.tenantId },
      { filter: storeFilter, limit: pageSize + 1, after },
    );
    const page = rows.slice(0, pageSize);
    const last = page.at(-1);
    return create(ListSessionsResponseSchema, {
      sessions: page.map((s) =>
        create(SessionSummarySchema, {
          tenantId: s.tenantId,
          projectId: s.projectId,
          sessionId: s.sessionId,
          startTime: nsToTimestamp(s.startNs),
          endTime: nsToTimestamp(s.endNs),
          eventCount: s.events,
          agents: s.agents,
          modelCalls: s.modelCalls,
          toolCalls: s.toolCalls,
          totalTokens: s.totalTokens,
          totalCost: s.totalCost,
          errors: s.errors,
          maxSeverity: s.maxSeverity as Severity,
          status: s.status as EventStatus,
        }),
      ),
      nextPageToken:
        rows.length > pageSize && last
          ? this.#pageTokens.encodeView(PAGE_TOKEN_VIEW, filter, [String(last.startNs), last.projectId, last.sessionId])
          : "",
    });
  }

  async usage(principal: Principal, request: GetUsageRequest): Promise<GetUsageResponse> {
    authorize(principal, "read");
    const violations: FieldViolation[] = [];
    const { tenantId, projectId, ...bounds } = readScopedRange(principal, request, violations);
    if (request.bucketSeconds < 0n || request.bucketSeconds % 60n !== 0n) {
      violations.push({ field: "bucket_seconds", description: "must be a whole number of minutes (a multiple of 60)" });
    }
    if (violations.length > 0) throw new InvalidArgumentError(violations);

    const endNs = bounds.endNs ?? maxOf(this.#nowNs(), bounds.startNs ?? 0n);
    const startNs = bounds.startNs ?? endNs - BigInt(DEFAULT_USAGE_RANGE_SECONDS) * NS_PER_S;
    const bucketSeconds = request.bucketSeconds || chooseBucket(endNs - startNs);
    const bucketNs = bucketSeconds * NS_PER_S;
    // Whole buckets, counted from the Unix epoch: the range grows to the edges of its buckets.
    const range = { startNs: floorTo(startNs, bucketNs), endNs: -floorTo(-endNs, bucketNs) };
    const buckets = (range.endNs - range.startNs) / bucketNs;
    if (buckets > BigInt(MAX_USAGE_BUCKETS)) {
      throw new InvalidArgumentError([
        {
          field: "bucket_seconds",
          description: `makes ${buckets} buckets of time_range, more than ${MAX_USAGE_BUCKETS}`,
        },
      ]);
    }

    const scope = { tenantId };
    const query = { tenantId, projectId, ...range };
    // Two statements, at once where the store has more than one connection.
    const [figures, stats] = await Promise.all([
      this.#store.usage(scope, { ...query, bucketSeconds: Number(bucketSeconds) }),
      this.#store.eventStats(scope, query),
    ]);
    let sessions = 0n;
    let errors = 0n;
    for (const bucket of figures.buckets) {
      sessions += bucket.sessionsStarted;
      errors += bucket.errors;
    }
    return create(GetUsageResponseSchema, {
      bucketSeconds,
      overTime: figures.buckets.map((bucket, i) =>
        create(UsageBucketSchema, { startTime: nsToTimestamp(range.startNs + BigInt(i) * bucketNs), ...bucket }),
      ),
      eventsByType: namedByType(stats.eventsByType),
      byModel: byKey(figures.byModel),
      byAgent: byKey(figures.byAgent),
      totalEvents: stats.totalEvents,
      totalSessions: sessions,
      errors,
    });
  }
}

/** A page token's position: [start ns, project_id, session_id], as listSessions wrote it. */
function sessionCursor(position: string[]): SessionCursor {
  const [startNs, projectId, sessionId] = position;
  return { startNs: BigInt(startNs), projectId, sessionId };
}

/** The narrowest of BUCKET_CHOICES that cuts `rangeNs` into at most TARGET_BUCKETS (the widest otherwise). */
function chooseBucket(rangeNs: bigint): bigint {
  const widths = BUCKET_CHOICES.map(BigInt);
  return widths.find((width) => rangeNs <= width * NS_PER_S * TARGET_BUCKETS) ?? widths[widths.length - 1];
}

/** `ns` rounded down to a multiple of `unit` (also below zero). */
function floorTo(ns: bigint, unit: bigint): bigint {
  const rest = ((ns % unit) + unit) % unit;
  return ns - rest;
}

const maxOf = (a: bigint, b: bigint) => (a > b ? a : b);

/** Largest total tokens first, then by key. */
function byKey(figures: Map<string, UsageKeyFigures>): UsageByKey[] {
  return [...figures]
    .map(([key, f]) => create(UsageByKeySchema, { key, ...f }))
    .sort((a, b) => (b.totalTokens > a.totalTokens ? 1 : b.totalTokens < a.totalTokens ? -1 : a.key < b.key ? -1 : 1));
}
