import type { NodeId } from "../lib/merkle.ts";
import type { TenantScope } from "./tenant-scope.ts";

/**
 * The stored side of the audit trail: one append-only Merkle log per tenant. EventWriter.insertEvents
 * queues the events it stores, in their own transaction; `integrate` moves queued events into
 * their logs (and the stats rollups); the rest reads the logs and keeps their signed checkpoints. Positions and sizes
 * are bigint as stored.
 */

/** Subtrees of 2^4 leaves and more have their hashes stored; smaller ones are computed from leaves. */
export const STORED_NODE_MIN_LEVEL = 4;

/** The state of a tenant's log needed to append to it and compute its root. */
export interface LogHead {
  tenantId: string;
  size: bigint;
  /** Hashes of the perfect subtrees covering [0, size), largest first. */
  compactRange: Uint8Array[];
}

export interface StoredCheckpoint {
  tenantId: string;
  size: bigint;
  rootHash: Uint8Array;
  /** The signed note, as served. */
  note: string;
}

/** A leaf and what remains of its event. */
export interface LogEntry {
  position: bigint;
  eventId: string;
  /** The leaf data: SHA-256 of the event's canonical encoding. */
  contentHash: Uint8Array;
  /** The previous position's content hash; empty at position 0. */
  hashPrev: Uint8Array;
  /** The stored event's payload; undefined when the event row is gone. */
  payload?: Uint8Array;
  projectId?: string;
  /** The purge record that replaced the payload with a stub; undefined while the event is intact. */
  purgedBy?: string;
}

/**
 * Promise: each tenant's log only grows, every event queued for it gets exactly one position (no gaps),
 * and what is read back (entries, subtree hashes, checkpoints) is what was appended.
 */
export interface AuditLog {
  /**
   * Takes up to `limit` events off the ingest queue, adds them to the stats rollups and appends
   * those queued for the log to their tenants' logs, in one transaction; returns how many it took.
   * With room left under `limit`, it also adds events stored before the usage rollups existed to
   * them (counted in the result), until none are left.
   * Returns 0 without waiting when another process is integrating. Not tenant-scoped: a server job.
   */
  integrate(limit: number): Promise<number>;
  /**
   * How many of the tenant's stored events (or of those with `eventId`, and of those in `projects`
   * when given) wait for their place in its log.
   */
  pendingEvents(scope: TenantScope, tenantId: string, eventId?: string, projects?: readonly string[]): Promise<number>;
  /** How many stored events wait in the ingest queue, of every tenant. Not tenant-scoped: a server job. */
  queueDepth(): Promise<number>;
  /** Every tenant's head that is ahead of its latest checkpoint. Not tenant-scoped: a server job. */
  headsAhead(): Promise<LogHead[]>;
  head(scope: TenantScope, tenantId: string): Promise<LogHead | undefined>;
  /** Stores a checkpoint; one of the same size already stored is kept. */
  addCheckpoint(checkpoint: StoredCheckpoint): Promise<void>;
  /** The checkpoint of `size`, or the latest when size is undefined. */
  checkpoint(scope: TenantScope, tenantId: string, size?: bigint): Promise<StoredCheckpoint | undefined>;
  /** Checkpoints with size in [fromSize, ...), ascending, at most `limit`. */
  checkpoints(scope: TenantScope, tenantId: string, fromSize: bigint, limit: number): Promise<StoredCheckpoint[]>;
  entry(scope: TenantScope, tenantId: string, eventId: string): Promise<LogEntry | undefined>;
  /** Entries at positions [from, ...), ascending by position, at most `limit`. Gaps are skipped, not filled. */
  entries(scope: TenantScope, tenantId: string, from: bigint, limit: number): Promise<LogEntry[]>;
  /** The hashes of perfect subtrees of the log, in the order asked. Throws if one is not stored. */
  subtreeHashes(scope: TenantScope, tenantId: string, ids: readonly NodeId[]): Promise<Uint8Array[]>;
  /** The stored hashes of subtrees of 2^STORED_NODE_MIN_LEVEL leaves and more; undefined where none is stored. */
  storedNodes(scope: TenantScope, tenantId: string, ids: readonly NodeId[]): Promise<(Uint8Array | undefined)[]>;
  /** Ids of the tenant's stored events that have no leaf and are not queued for one, at most `limit`. */
  eventsOutsideLog(scope: TenantScope, tenantId: string, limit: number): Promise<string[]>;
}
