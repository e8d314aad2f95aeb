import type { AuditLog } from "./audit-log.ts";
import type { EventReader, EventWriter, TailSource } from "./event-store.ts";
import type { KeyStore } from "./key-store.ts";
import type { RedactionStore } from "./redaction-store.ts";
import type { RetentionStore } from "./retention-store.ts";
import type { SigningKeyStore } from "./signing-keys.ts";

/**
 * The database: events, and beside them their audit logs, API keys, redaction rules and shared secrets.
 * Promise: one consistent database behind all of them, whichever process or store (PostgreSQL or
 * embedded) serves it.
 *
 * With a streaming replica configured, these reads go there and may lag the primary by its
 * replication delay: queryEvents, eventStats, listSessions and usage (a write acknowledged a
 * moment ago may be missing), and the audit log's checkpoint of a given size, entry and
 * subtreeHashes (which fall back to the primary for what the replica lacks, so proofs never lag).
 * Everything else (ingest, the live tail, keys, secrets, the integrator, the latest checkpoint,
 * verify's reads) uses the primary.
 */
export interface Database extends EventWriter, EventReader, TailSource {
  readonly audit: AuditLog;
  readonly keys: KeyStore;
  readonly redaction: RedactionStore;
  readonly retention: RetentionStore;
  readonly signingKeys: SigningKeyStore;
  /** A secret shared by every process on this database, created on first use. */
  sharedSecret(name: string, create: () => Uint8Array): Promise<Uint8Array>;
  /**
   * The write-once triggers and row-level security of events and logs that are missing or
   * switched off, one sentence each (see sql/safeguards.ts).
   */
  missingSafeguards(): Promise<string[]>;
  /**
   * Whether this process holds the lease on the database's background work (integrating the
   * ingest queue, signing checkpoints), taking it if it is free. One process holds it at a time,
   * until it closes the store or its connection to the database ends.
   */
  holdsBackgroundLease(): Promise<boolean>;
  /**
   * Creates the monthly partitions of the events missing from this month to two months ahead;
   * returns those it created, and those it could not because events of their month were stored
   * before them (in the default partition, where they stay).
   */
  prepareEventPartitions(): Promise<EventPartition[]>;
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  /** The migrations this server expects that the database has not applied. */
  missingMigrations(): Promise<string[]>;
  /** The connection pool now: connections open, of them idle, and requests waiting for one. */
  connections(): { open: number; idle: number; waiting: number };
  close(): Promise<void>;
}

/** A monthly partition of the events (`events_YYYY_MM`), and whether it was created. */
export interface EventPartition {
  name: string;
  created: boolean;
}
