import type pg from "pg";

/** How long the serving process waits on PostgreSQL before a request answers `unavailable`. */
export interface DatabaseTimeouts {
  /** Longest a statement may run (PostgreSQL's statement_timeout); 0: no bound. */
  statementMs: number;
  /** Longest a request waits for a connection: a free one of the pool, or a new one. */
  connectMs: number;
}

/**
 * The server cancels a statement at statement_timeout; one that answers nothing at all (frozen,
 * or behind a silent network) cannot, so the client gives up on its own this much later.
 */
const SILENT_SERVER_GRACE_MS = 2_000;

/** The node-postgres pool settings that apply the bounds to every connection of the pool. */
export function timeoutPoolConfig(timeouts: DatabaseTimeouts): pg.PoolConfig {
  const bounded = timeouts.statementMs > 0;
  return {
    connectionTimeoutMillis: timeouts.connectMs,
    statement_timeout: bounded ? timeouts.statementMs : undefined,
    query_timeout: bounded ? timeouts.statementMs + SILENT_SERVER_GRACE_MS : undefined,
  };
}
