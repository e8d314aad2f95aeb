import { fromBinary } from "@bufbuild/protobuf";
import { EventSchema } from "../../../gen/chaukas/spec/common/v1/events_pb.ts";
import { InvalidArgumentError, PermissionDeniedError } from "../../lib/errors.ts";
import type { Database } from "../../store/database.ts";
import type { ErasureSelector, PurgeCandidate, RetentionPolicy } from "../../store/retention-store.ts";
import { ALL_TENANTS, type TenantScope } from "../../store/tenant-scope.ts";
import { administrator, type Principal, tenantScope } from "../access.ts";
import { toEventRecord } from "../event-record.ts";
import { checkIds } from "../ids.ts";
import { type PurgeKind, purgedStub, purgeRecordEvent } from "./purge-record.ts";

/** Events per purge (and per purge record, which lists their ids). */
export const PURGE_BATCH = 1000;
const DAY_NS = 86_400_000_000_000n;

/** One purge done: its record, and how many events of which project it took. */
export interface PurgeDone {
  tenantId: string;
  projectId: string;
  recordId: string;
  count: number;
}

/**
 * The tenant whose retention or erasure `principal` manages, and the rows its statements may touch:
 * an admin key of the tenant (or one that administers every tenant, see `administrator`), not
 * limited to projects (an erasure must be able to take a data subject's events wherever they
 * are), or the local CLI.
 */
function adminTenant(principal: Principal, tenantId: string): { tenantId: string; scope: TenantScope } {
  const acting = administrator(principal, tenantId);
  if (acting.kind === "key" && acting.projects.length > 0) {
    throw new PermissionDeniedError(`key ${acting.keyId} is limited to projects: retention needs a tenant-wide key`);
  }
  const tenant = tenantId || (principal.kind === "key" ? principal.tenantId : "");
  if (!tenant) throw new InvalidArgumentError([{ field: "tenant_id", description: "is required" }]);
  checkIds({ tenant_id: tenant });
  return { tenantId: tenant, scope: tenantScope(acting) };
}

/**
 * The longest period: a century. Its cutoff stays well inside the nanosecond timestamps events
 * carry (int64, back to 1677), which a period of about 127,000 days would leave.
 */
export const MAX_RETENTION_DAYS = 36_500;
/** What a period must be, as refusals say it. */
export const RETENTION_DAYS_RULE = `must be a whole number of days up to ${MAX_RETENTION_DAYS} (100 years), 0 to keep forever`;

/** Sets how many days the tenant's events (project '') or one project's keep their content. */
export async function setRetention(
  store: Database,
  principal: Principal,
  policy: { tenantId: string; projectId: string; days: number; setBy: string },
): Promise<RetentionPolicy[]> {
  const { tenantId, scope } = adminTenant(principal, policy.tenantId);
  checkIds({ project_id: policy.projectId });
  if (!Number.isInteger(policy.days) || policy.days < 0 || policy.days > MAX_RETENTION_DAYS) {
    throw new InvalidArgumentError([{ field: "days", description: RETENTION_DAYS_RULE }]);
  }
  if (policy.days === 0) await store.retention.removePolicy(scope, tenantId, policy.projectId);
  else await store.retention.setPolicy(scope, { ...policy, tenantId });
  return store.retention.policies(scope, tenantId);
}

export async function showRetention(store: Database, principal: Principal, tenantId: string) {
  const { tenantId: tenant, scope } = adminTenant(principal, tenantId);
  return store.retention.policies(scope, tenant);
}

/**
 * The retention job: purges every event older than its policy allows, in purges of PURGE_BATCH.
 * Returns what it purged, or undefined when another process is purging (it will do it).
 */
export async function purgeExpired(store: Database, now: Date): Promise<PurgeDone[] | undefined> {
  return purgeExpiredOf(store, await store.retention.policies(ALL_TENANTS), now);
}

/** The retention job on request: for every tenant the admin key administers, or all for the CLI. */
export async function runRetention(store: Database, principal: Principal, now: Date) {
  const acting = administrator(principal, "");
  if (acting.kind === "unrestricted") return purgeExpired(store, now);
  return purgeExpiredOf(store, await store.retention.policies(tenantScope(acting), acting.tenantId), now);
}

async function purgeExpiredOf(
  store: Database,
  policies: readonly RetentionPolicy[],
  now: Date,
): Promise<PurgeDone[] | undefined> {
  const done: PurgeDone[] = [];
  for (const policy of policies) {
    const beforeNs = BigInt(now.getTime()) * 1_000_000n - BigInt(policy.days) * DAY_NS;
    const project = policy.projectId ? `project "${policy.projectId}"` : `tenant "${policy.tenantId}"`;
    const reason = `retention: ${project} keeps ${policy.days} days (set by ${policy.setBy})`;
    for (;;) {
      const candidates = await store.retention.expired(ALL_TENANTS, policy, beforeNs, PURGE_BATCH);
      if (candidates.length === 0) break;
      const purged = await purge(store, ALL_TENANTS, policy.tenantId, candidates, now, {
        kind: "retention",
        by: "chaukas retention job",
        reason,
        exclusive: true,
      });
      if (!purged) return undefined;
      done.push(...purged);
    }
  }
  return done;
}

/** An erasure request: which events of the tenant, who asks, and the request's reference. */
export interface ErasureRequest {
  tenantId: string;
  selector: ErasureSelector;
  /** The request's reference (a ticket number, say): recorded in the log, so never the subject's identifier. */
  request: string;
  by: string;
}

/** What an erasure did: the intact events it examined, and the purges it made of those it took. */
export interface Erasure {
  examined: number;
  purges: PurgeDone[];
}

/** After each batch an erasure examined: its totals so far. */
export type ErasureProgress = (progress: { examined: number; erased: number }) => void;

/**
 * Purges every intact event of the tenant the selector takes, a batch of at most PURGE_BATCH
 * examined at a time. Events a metadata selector's pre-filter finds are decoded and taken only if
 * their metadata holds exactly that value under that key.
 */
export async function erase(
  store: Database,
  principal: Principal,
  request: ErasureRequest,
  progress?: ErasureProgress,
): Promise<Erasure> {
  const { tenantId, scope } = adminTenant(principal, request.tenantId);
  const { selector } = request;
  const given = Object.entries(selector).filter(([, value]) => value !== undefined && value !== "");
  if (given.length === 0 || selector.eventIds?.length === 0) {
    throw new InvalidArgumentError([
      {
        field: "selector",
        description:
          "name a session, an agent, event ids, a tag or a metadata value: erasing everything is not an erasure",
      },
    ]);
  }
  if (selector.metadata && (!selector.metadata.key || !selector.metadata.value)) {
    throw new InvalidArgumentError([{ field: "metadata", description: "needs a key and a value, KEY=VALUE" }]);
  }
  checkIds({
    session_id: selector.sessionId ?? "",
    agent_id: selector.agentId ?? "",
    tag: selector.tag ?? "",
    event_ids: (selector.eventIds ?? []).join(""),
  });
  // What selected them goes in the record by kind only: its value may be the data subject's name.
  const reason = `erasure request ${request.request || "(no reference)"} by ${given.map(([key]) => key).join(" and ")}`;
  const erasure: Erasure = { examined: 0, purges: [] };
  let erased = 0;
  let after: PurgeCandidate | undefined;
  for (;;) {
    const candidates = await store.retention.matching(scope, tenantId, selector, PURGE_BATCH, after);
    if (candidates.length === 0) return erasure;
    after = candidates[candidates.length - 1];
    erasure.examined += candidates.length;
    const taken = selector.metadata ? candidates.filter(metadataHolds(selector.metadata)) : candidates;
    if (taken.length > 0) {
      const purged = await purge(store, scope, tenantId, taken, new Date(), {
        kind: "erasure",
        by: request.by,
        reason,
        exclusive: false,
      });
      erasure.purges.push(...(purged ?? []));
      erased += taken.length;
    }
    progress?.({ examined: erasure.examined, erased });
  }
}

/** Whether a candidate's metadata holds the string `value` under its top-level `key`. */
function metadataHolds(match: { key: string; value: string }): (candidate: PurgeCandidate) => boolean {
  return (candidate) => fromBinary(EventSchema, candidate.payload).metadata?.[match.key] === match.value;
}

/** One purge per project of the candidates: their stubs and the record naming them. */
async function purge(
  store: Database,
  scope: TenantScope,
  tenantId: string,
  candidates: readonly PurgeCandidate[],
  at: Date,
  how: { kind: PurgeKind; by: string; reason: string; exclusive: boolean },
): Promise<PurgeDone[] | undefined> {
  const byProject = new Map<string, PurgeCandidate[]>();
  for (const candidate of candidates) {
    const list = byProject.get(candidate.projectId);
    if (list) list.push(candidate);
    else byProject.set(candidate.projectId, [candidate]);
  }
  const done: PurgeDone[] = [];
  for (const [projectId, events] of byProject) {
    const eventIds = events.map((event) => event.eventId);
    const record = purgeRecordEvent(tenantId, projectId, at, {
      kind: how.kind,
      by: how.by,
      reason: how.reason,
      eventIds,
    });
    const stubs = events.map((event) =>
      toEventRecord(purgedStub(fromBinary(EventSchema, event.payload), record.eventId, how.reason)),
    );
    const applied = await store.retention.purge(
      scope,
      { tenantId, stubs, recordId: record.eventId, record: toEventRecord(record) },
      how.exclusive,
    );
    if (!applied) return undefined;
    done.push({ tenantId, projectId, recordId: record.eventId, count: events.length });
  }
  return done;
}
