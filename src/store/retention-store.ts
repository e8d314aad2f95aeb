import type { EventRecord } from "./event-store.ts";
import type { TenantScope } from "./tenant-scope.ts";

/** How long a tenant's events (or one project's, which overrides the tenant's) keep their content. */
export interface RetentionPolicy {
  tenantId: string;
  /** Empty: the whole tenant, but for projects with a policy of their own. */
  projectId: string;
  days: number;
  setBy: string;
  setAt: Date;
}

/** Which of a tenant's intact events an erasure takes: every condition given is ANDed. */
export interface ErasureSelector {
  sessionId?: string;
  agentId?: string;
  eventIds?: string[];
  /** A tag naming the data subject. */
  tag?: string;
  /** A metadata value naming the data subject: the top-level `key` holds the string `value`. */
  metadata?: { key: string; value: string };
}

/** An intact event a purge is about to take. */
export interface PurgeCandidate {
  eventId: string;
  projectId: string;
  timestampNs: bigint;
  payload: Uint8Array;
}

/** A purge: events' stubs (each naming the record), and the record itself, a new event. */
export interface Purge {
  tenantId: string;
  stubs: readonly EventRecord[];
  recordId: string;
  record: EventRecord;
}

/**
 * The stored side of retention and erasure. Promise: a purge replaces intact events' payloads and
 * index columns with their stubs and stores (and queues for the log) its record in one
 * transaction; an event is purged at most once; leaves are never touched.
 */
export interface RetentionStore {
  setPolicy(scope: TenantScope, policy: Omit<RetentionPolicy, "setAt">): Promise<void>;
  /** Removes the policy of the tenant (projectId '') or of one project; false if there was none. */
  removePolicy(scope: TenantScope, tenantId: string, projectId: string): Promise<boolean>;
  /** The tenant's policies, or every tenant's with ALL_TENANTS and no tenantId. */
  policies(scope: TenantScope, tenantId?: string): Promise<RetentionPolicy[]>;
  /** Intact events under `policy` older than `beforeNs`, oldest first, at most `limit`. */
  expired(scope: TenantScope, policy: RetentionPolicy, beforeNs: bigint, limit: number): Promise<PurgeCandidate[]>;
  /**
   * Intact events the selector may take, by time and id after `after`, at most `limit`; never purge
   * records. A metadata selector only narrows them to payloads holding its value's bytes: the
   * caller decodes each and matches it exactly.
   */
  matching(
    scope: TenantScope,
    tenantId: string,
    selector: ErasureSelector,
    limit: number,
    after?: Pick<PurgeCandidate, "timestampNs" | "eventId">,
  ): Promise<PurgeCandidate[]>;
  /**
   * Applies the purge, one at a time per database; throws, changing nothing, if one of its events
   * is no longer intact. With `exclusive`, returns false without waiting when another process is
   * purging; true once applied.
   */
  purge(scope: TenantScope, purge: Purge, exclusive?: boolean): Promise<boolean>;
}
