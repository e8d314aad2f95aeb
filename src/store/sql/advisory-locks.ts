/**
 * The PostgreSQL advisory lock keys this server takes, each a fixed int8 of its own: a key shared
 * by two of them makes one wait on the other (a session-level holder never lets the other in).
 */
export const ADVISORY_LOCK = {
  /** Concurrent first starts on one database create one admin key, not one each. */
  firstKey: "4242000001",
  /** The integrator appends to the audit log one process at a time. */
  integrator: "4242000002",
  /** The lease on background work, held by one process on a connection of its own. */
  backgroundLease: "4242000003",
  /** Purges (retention and erasure), one transaction at a time. */
  purge: "4242000004",
} as const;
