import type { AuditLog } from "./audit-log.ts";
import type { EventReader, EventWriter, TailSource } from "./event-store.ts";
import type { KeyStore } from "./key-store.ts";
import type { RetentionStore } from "./retention-store.ts";
import type { SigningKeyStore } from "./signing-keys.ts";

/**
 * The database: events, and beside them their audit logs, API keys and shared secrets.
 * Promise: one consistent database behind all of them, whichever process or store (PostgreSQL or
 * embedded) serves it.
 */
export interface Database extends EventWriter, EventReader, TailSource {
  readonly audit: AuditLog;
  readonly keys: KeyStore;
  readonly retention: RetentionStore;
  readonly signingKeys: SigningKeyStore;
  /** A secret shared by every process on this database, created on first use. */
  sharedSecret(name: string, create: () => Uint8Array): Promise<Uint8Array>;
  /**
   * The write-once triggers and row-level security of events and logs that are missing or
   * switched off, one sentence each (see sql/safeguards.ts).
   */
  missingSafeguards(): Promise<string[]>;
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  /** The migrations this server expects that the database has not applied. */
  missingMigrations(): Promise<string[]>;
  /** The connection pool now: connections open, of them idle, and requests waiting for one. */
  connections(): { open: number; idle: number; waiting: number };
  close(): Promise<void>;
}
