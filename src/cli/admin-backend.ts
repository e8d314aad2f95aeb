import type { Event } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import type { ExportPage } from "../core/administration.ts";
import type { VerifyProgress } from "../core/audit/database-verification.ts";
import type { VerificationOutcome } from "../core/audit/log-verifier.ts";
import type { KeySpec } from "../core/key-admin.ts";
import type { Erasure, ErasureProgress, ErasureRequest, PurgeDone } from "../core/retention/retention.ts";
import type { EventFilter } from "../store/event-store.ts";
import type { StoredKey } from "../store/key-store.ts";
import type { RetentionPolicy } from "../store/retention-store.ts";

/** A key as the CLI lists it: everything but its secret's hash. */
export type ListedKey = Omit<StoredKey, "secretHash">;

/**
 * What the CLI's administration commands need, whoever does it: the database itself
 * (direct-backend.ts) or a running server's AdminService (server-backend.ts). The commands are
 * written once against this, so their output and exit codes are the same either way.
 */
export interface AdminBackend {
  createKey(spec: KeySpec): Promise<{ key: ListedKey; secret: string }>;
  /** `tenantId` undefined: every tenant's keys. */
  listKeys(tenantId?: string): Promise<ListedKey[]>;
  /** False when no active key has this id. */
  revokeKey(id: string): Promise<boolean>;
  exportEvents(filter: EventFilter): AsyncIterable<ExportPage>;
  /** Stores a batch; returns how many were stored or already there. */
  importEvents(events: Event[]): Promise<number>;
  /** After an import: puts the events in the audit log (a running server does that itself). */
  finishImport(): Promise<void>;
  verifyLog(
    check: { tenantId: string; verifierKeys?: readonly string[]; savedNote?: string },
    progress: VerifyProgress,
  ): Promise<VerificationOutcome>;
  /** Sets a retention period (0 days: none); returns the tenant's periods after it. */
  setRetentionPolicy(policy: {
    tenantId: string;
    projectId: string;
    days: number;
    setBy: string;
  }): Promise<RetentionPolicy[]>;
  retentionPolicies(tenantId: string): Promise<RetentionPolicy[]>;
  /** Purges what is expired now; undefined when another process is purging. */
  runRetention(): Promise<PurgeDone[] | undefined>;
  eraseEvents(request: ErasureRequest, progress?: ErasureProgress): Promise<Erasure>;
  close(): Promise<void>;
}
