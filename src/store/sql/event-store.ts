import type pg from "pg";
import { type Metrics, NO_METRICS } from "../../lib/metrics.ts";
import type { AuditLog } from "../audit-log.ts";
import type { Database, EventPartition } from "../database.ts";
import type {
  ColumnDifference,
  EventFilter,
  EventPageQuery,
  EventRecord,
  EventStats,
  SessionFigures,
  SessionQuery,
  StatsQuery,
  StoredEvent,
  TailPosition,
  TailRead,
  UsageFigures,
  UsageQuery,
} from "../event-store.ts";
import type { KeyStore } from "../key-store.ts";

import type { RedactionStore } from "../redaction-store.ts";
import type { RetentionStore } from "../retention-store.ts";
import type { SigningKeyStore } from "../signing-keys.ts";
import type { TenantScope } from "../tenant-scope.ts";
import { SqlAuditLog } from "./audit-log.ts";
import type { BackgroundLease } from "./background-lease.ts";
import type { RowFields } from "./binary-rows.ts";
import { selectColumnDifferences } from "./event-columns.ts";

import { readsInIndexOrder, WhereBuilder } from "./event-filter.ts";
import { insertAndQueueStatement } from "./event-insert.ts";
import { selectEventStats } from "./event-stats.ts";
import { GroupCommit, type GroupCommitOptions } from "./group-commit.ts";
import { SqlKeyStore } from "./key-store.ts";
import { missingMigrations as missingMigrationsOn } from "./migrate.ts";
import { prepareEventPartitions } from "./partitions.ts";

import { inTenantScope, queryInTenantScope, rowsInTenantScope, runQuery, withClient } from "./pool.ts";
import { SqlRedactionStore } from "./redaction-store.ts";
import { SqlRetentionStore } from "./retention-store.ts";

import { missingSafeguards } from "./safeguards.ts";
import { selectSessions, selectUsage } from "./session-views.ts";
import { SqlSigningKeyStore } from "./signing-keys.ts";
import { selectTailHorizon, tailReadOf, tailReadStatement, tailRowOf } from "./tail-reads.ts";

/**
 * The Database in SQL, over a node-postgres pool. The same statements run on PostgreSQL and on
 * PGlite (through pglite-connection.ts), so both stores behave alike.
 */
export class SqlEventStore implements Database {
  readonly audit: AuditLog;
  readonly keys: KeyStore;
  readonly redaction: RedactionStore;
  readonly retention: RetentionStore;
  readonly signingKeys: SigningKeyStore;
  readonly #pool: pg.Pool;
  /** The replica's pool for the reads that may lag, else the primary's. */
  readonly #reads: pg.Pool;
  readonly #lease: BackgroundLease | undefined;
  readonly #beforeClose: () => Promise<void>;
  readonly #onClose: () => Promise<void>;
  readonly #auditTrail: boolean;
  readonly #groups: GroupCommit;
  readonly #metrics: Metrics;

  /**
   * `auditTrail: false` stores events without ever appending them to the log (to measure its cost).
   * `groupCommit`: how concurrent inserts share statements (see GroupCommit). `metrics` is told of
   * the events found already stored. `readPool`: a streaming replica's, for the reads Database
   * allows to lag.
   */
  constructor(
    pool: pg.Pool,
    options: {
      readPool?: pg.Pool;
      /** Several processes may share the database; none: this process is its only one (embedded). */
      lease?: BackgroundLease;
      auditTrail?: boolean;
      groupCommit?: GroupCommitOptions;
      /** Stops what uses the pool of its own accord (the embedded database's upkeep and checkpoints), before the pool ends. */
      beforeClose?: () => Promise<void>;
      onClose?: () => Promise<void>;
      metrics?: Metrics;
    } = {},
  ) {
    this.#reads = options.readPool ?? pool;
    this.#lease = options.lease;
    this.audit = new SqlAuditLog(pool, this.#reads);
    this.keys = new SqlKeyStore(pool);
    this.redaction = new SqlRedactionStore(pool);
    this.retention = new SqlRetentionStore(pool);
    this.signingKeys = new SqlSigningKeyStore(pool);
    this.#pool = pool;
    this.#auditTrail = options.auditTrail ?? true;
    this.#groups = new GroupCommit(
      (scope, records) => this.#insertNow(scope, records),
      options.groupCommit ?? DEFAULT_GROUP_COMMIT,
    );
    this.#beforeClose = options.beforeClose ?? (async () => {});
    this.#onClose = options.onClose ?? (async () => {});
    this.#metrics = options.metrics ?? NO_METRICS;
  }

  insertEvents(scope: TenantScope, records: readonly EventRecord[]): Promise<void> {
    return this.#groups.insert(scope, records);
  }

  async #insertNow(scope: TenantScope, records: readonly EventRecord[]): Promise<void> {
    // Of repeats the first is kept: ON CONFLICT cannot choose between rows of one statement.
    const unique = firstOfEach(records);
    if (unique.length === 0) return;
    // One statement whatever the batch size: each column travels as one array parameter and
    // unnest() turns them back into rows (see binary-arrays.ts).
    const { rowCount } = await queryInTenantScope(this.#pool, scope, insertAndQueueStatement(unique, this.#auditTrail));
    const stored = rowCount ?? 0;
    // Each event stored now is queued once: the rest of the records were there already.
    this.#metrics.eventsDuplicate(records.length - stored);
  }

  async queryEvents(scope: TenantScope, query: EventPageQuery): Promise<StoredEvent[]> {
    const where = new WhereBuilder(query.filter);
    const direction = query.ascending ? "ASC" : "DESC";
    if (query.after) {
      const ts = where.param(query.after.timestampNs.toString());
      const id = where.param(query.after.eventId);
      where.add(`(ts_ns, event_id) ${query.ascending ? ">" : "<"} (${ts}::bigint, ${id})`);
    }
    const limit = where.param(query.limit);
    // The page first, then each event's log entry and the first checkpoint that includes it.
    // The hashes come as the hex they are served in, not as bytea for the server to convert.
    return rowsInTenantScope(
      this.#reads,
      scope,
      `WITH page AS (
           SELECT tenant_id, event_id, ts_ns, payload, stored_xid FROM events WHERE ${where.sql()}
           ORDER BY ts_ns ${direction}, event_id ${direction} LIMIT ${limit})
         SELECT p.event_id, p.ts_ns, p.payload, l.position,
                encode(l.content_hash, 'hex') AS content_hash, encode(l.hash_prev, 'hex') AS hash_prev,
                (SELECT min(c.size) FROM audit_checkpoints c
                 WHERE c.tenant_id = p.tenant_id AND c.size > l.position) AS checkpoint_size
         FROM page p LEFT JOIN LATERAL chaukas_log_leaf(p.tenant_id, p.stored_xid, p.event_id) l ON true
         ORDER BY p.ts_ns ${direction}, p.event_id ${direction}`,
      where.values,
      storedEventOf,
      { keptPlan: readsInIndexOrder(query.filter) },
    );
  }

  async columnDifferences(scope: TenantScope, records: readonly EventRecord[]): Promise<ColumnDifference[]> {
    return inTenantScope(this.#pool, scope, (client) => selectColumnDifferences(client, records));
  }

  async readTail(scope: TenantScope, filter: EventFilter, after: TailPosition, limit: number): Promise<TailRead> {
    const { text, values } = tailReadStatement(filter, after, limit);
    return tailReadOf(await rowsInTenantScope(this.#pool, scope, text, values, tailRowOf, { keptPlan: true }));
  }

  async tailHorizon(
    scope: TenantScope,
    tenantId: string,
    after: TailPosition,
  ): Promise<{ horizon: bigint; newer: boolean }> {
    return inTenantScope(this.#pool, scope, (client) => selectTailHorizon(client, tenantId, after));
  }

  async eventStats(scope: TenantScope, query: StatsQuery): Promise<EventStats> {
    return inTenantScope(this.#reads, scope, (client) => selectEventStats(client, query));
  }

  async listSessions(scope: TenantScope, query: SessionQuery): Promise<SessionFigures[]> {
    return inTenantScope(this.#reads, scope, (client) => selectSessions(client, query));
  }

  async usage(scope: TenantScope, query: UsageQuery): Promise<UsageFigures> {
    return inTenantScope(this.#reads, scope, (client) => selectUsage(client, query));
  }

  async sharedSecret(name: string, create: () => Uint8Array): Promise<Uint8Array> {
    // Insert-if-absent and read in one statement, so concurrent first starts agree on one value.
    const { rows } = await runQuery<{ value: Buffer }>(
      this.#pool,
      `WITH created AS (
         INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING value)
       SELECT value FROM created UNION ALL SELECT value FROM server_secrets WHERE name = $1`,
      [name, Buffer.from(create())],
    );
    return rows[0].value;
  }

  async missingSafeguards(): Promise<string[]> {
    return withClient(this.#pool, missingSafeguards);
  }

  async holdsBackgroundLease(): Promise<boolean> {
    return this.#lease ? this.#lease.held() : true;
  }

  async prepareEventPartitions(): Promise<EventPartition[]> {
    return prepareEventPartitions(this.#pool);
  }

  async ping(): Promise<void> {
    await runQuery(this.#pool, "SELECT 1");
  }

  missingMigrations(): Promise<string[]> {
    return withClient(this.#pool, missingMigrationsOn);
  }

  connections(): { open: number; idle: number; waiting: number } {
    return { open: this.#pool.totalCount, idle: this.#pool.idleCount, waiting: this.#pool.waitingCount };
  }

  async close(): Promise<void> {
    await this.#beforeClose();
    await this.#lease?.release();
    await this.#pool.end();
    await this.#onClose();
  }
}

/** Two statements per tenant at once keep both of a small server's cores busy; more would wait for the pool. */
export const DEFAULT_GROUP_COMMIT: GroupCommitOptions = { writers: 2, maxGroupEvents: 1_000 };

/** A page's row: the event, then its log entry, null when it has no leaf yet (then so is the rest). */
function storedEventOf(row: RowFields): StoredEvent {
  const eventId = row.text();
  const timestampNs = row.int8();
  const payload = row.bytea();
  if (row.nextIsNull()) return { eventId, timestampNs, payload, logEntry: undefined };
  const position = row.int8();
  const contentHash = row.text();
  const hashPrev = row.text();
  const checkpointSize = row.nextIsNull() ? undefined : row.int8();
  return { eventId, timestampNs, payload, logEntry: { position, contentHash, hashPrev, checkpointSize } };
}

/** The records without repeats of a (tenant, event_id), each kept at its first place. */
function firstOfEach(records: readonly EventRecord[]): EventRecord[] {
  const seen = new Set<string>();
  return records.filter((r) => {
    const key = recordKey(r.tenantId, r.eventId);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

const recordKey = (tenantId: string, eventId: string) => `${tenantId}\0${eventId}`;
