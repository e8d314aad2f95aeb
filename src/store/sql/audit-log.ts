import type pg from "pg";
import { asBuffer } from "../../lib/bytes.ts";
import { CompactRange, HASH_SIZE, leafHash, type NodeId } from "../../lib/merkle.ts";
import {
  type AuditLog,
  type LogEntry,
  type LogHead,
  STORED_NODE_MIN_LEVEL,
  type StoredCheckpoint,
} from "../audit-log.ts";
import { ALL_TENANTS, type TenantScope } from "../tenant-scope.ts";
import { ADVISORY_LOCK } from "./advisory-locks.ts";
import { BinaryArrays } from "./binary-arrays.ts";
import { TAKE_QUEUED_AND_ROLL_UP } from "./event-stats.ts";
import { inTenantScope, queryInTenantScope } from "./pool.ts";
import { rollUpBackfill } from "./usage-rollup.ts";

/** An event waiting for its place in its tenant's log, with its key in log order (logXid, eventId). */
interface PendingLeaf {
  tenantId: string;
  /** Its transaction's id (stored_xid; 0 for an event stored before that column). */
  logXid: string;
  eventId: string;
  contentHash: Uint8Array;
}

/** Leaves per audit_leaf_tiles row at most: a tile never crosses a multiple of this many positions. */
const TILE_WIDTH = 2 ** STORED_NODE_MIN_LEVEL;

/**
 * Appends queued events, in the given order, to their tenants' logs, in tiles of up to TILE_WIDTH
 * leaves. The integrator's advisory lock already makes it the only appender; the head rows are
 * locked too (created if absent, in one sorted order), so positions stay unique even if that lock
 * were ever bypassed.
 */
async function appendToLogs(client: pg.PoolClient, records: readonly PendingLeaf[]): Promise<void> {
  const byTenant = new Map<string, PendingLeaf[]>();
  for (const record of records) {
    const list = byTenant.get(record.tenantId);
    if (list) list.push(record);
    else byTenant.set(record.tenantId, [record]);
  }
  const tenants = [...byTenant.keys()].sort();
  const { rows: heads } = await client.query<HeadRow>({
    name: "lock-audit-heads",
    text: LOCK_HEADS,
    values: [tenants],
  });

  const tiles = new Columns(6);
  const eventIds: string[] = [];
  const nodes = new Columns(4);
  const updated = new Columns(4);
  for (const head of heads) {
    const range = new CompactRange(Number(head.size), splitHashes(head.compact_range));
    let previous: Uint8Array = head.last_content_hash;
    // biome-ignore lint/style/noNonNullAssertion: heads are the tenants of byTenant
    const pending = byTenant.get(head.tenant_id)!;
    let tileStart = 0;
    for (const [i, record] of pending.entries()) {
      eventIds.push(record.eventId);
      range.append(leafHash(record.contentHash), (id, hash) => {
        if (id.level >= STORED_NODE_MIN_LEVEL) nodes.push(head.tenant_id, id.level, id.index, hash);
      });
      if (range.size % TILE_WIDTH === 0 || i === pending.length - 1) {
        const tile = pending.slice(tileStart, i + 1);
        tiles.push(
          head.tenant_id,
          range.size - tile.length,
          tile[0].logXid,
          eventIds.length - tile.length + 1,
          Buffer.concat(tile.map((leaf) => leaf.contentHash)),
          previous,
        );
        previous = record.contentHash;
        tileStart = i + 1;
      }
    }
    updated.push(head.tenant_id, range.size, Buffer.concat(range.hashes), previous);
  }
  const [tileTenants, firstPositions, firstXids, firstEventIndexes, contentHashes, previousHashes] = tiles.arrays;
  const [nodeTenants, levels, indexes, nodeHashes] = nodes.arrays;
  const [headTenants, sizes, compactRanges, lastHashes] = updated.arrays;
  await client.query({
    name: "append-audit-log",
    text: APPEND,
    values: new BinaryArrays()
      .text(tileTenants as string[])
      .int8(firstPositions as number[])
      .text(firstXids as string[])
      .int8(firstEventIndexes as number[])
      .bytea(contentHashes as Uint8Array[])
      .bytea(previousHashes as Uint8Array[])
      .text(eventIds)
      .text(nodeTenants as string[])
      .int2(levels as number[])
      .int8(indexes as number[])
      .bytea(nodeHashes as Uint8Array[])
      .text(headTenants as string[])
      .int8(sizes as number[])
      .bytea(compactRanges as Uint8Array[])
      .bytea(lastHashes as Uint8Array[])
      .build(),
  });
}

/**
 * The AuditLog in SQL, over the same pool and tenant isolation as the events. With a replica
 * (`reads`), proofs read there: the log only grows and what it holds never changes, so what the
 * replica has is what the primary has, and what it lacks yet (a checkpoint, entry or subtree just
 * written) is read from the primary. The latest checkpoint is always the primary's.
 */
export class SqlAuditLog implements AuditLog {
  readonly #pool: pg.Pool;
  readonly #reads: pg.Pool;

  constructor(pool: pg.Pool, reads: pg.Pool = pool) {
    this.#pool = pool;
    this.#reads = reads;
  }

  async integrate(limit: number): Promise<number> {
    return inTenantScope(this.#pool, ALL_TENANTS, async (client) => {
      // One integrator at a time per database; another process's round will take these.
      const { rows: lock } = await client.query<{ locked: boolean }>("SELECT pg_try_advisory_xact_lock($1) AS locked", [
        ADVISORY_LOCK.integrator,
      ]);
      if (!lock[0].locked) return 0;
      // Taken off the queue, rolled up and appended in one transaction: exactly once each.
      const { rows } = await client.query<{
        tenant_id: string;
        event_id: string;
        content_hash: Buffer;
        to_log: boolean;
        log_xid_text: string;
      }>({ name: "take-queued-and-roll-up", text: TAKE_QUEUED_AND_ROLL_UP, values: [limit] });
      const leaves = rows
        .filter((row) => row.to_log)
        .map((row) => ({
          tenantId: row.tenant_id,
          logXid: row.log_xid_text,
          eventId: row.event_id,
          contentHash: row.content_hash,
        }));
      if (leaves.length > 0) await appendToLogs(client, leaves);
      // Events stored before the usage rollups existed, while any are left: after an upgrade.
      const backfilled = await rollUpBackfill(client, limit - rows.length);
      return rows.length + backfilled;
    });
  }

  async pendingEvents(
    scope: TenantScope,
    tenantId: string,
    eventId?: string,
    projects?: readonly string[],
  ): Promise<number> {
    const { rows } = await this.#query<{ n: number }>(
      scope,
      `SELECT count(*)::int AS n FROM ingest_queue WHERE to_log AND tenant_id = $1
         AND ($2::text IS NULL OR event_id = $2) AND ($3::text[] IS NULL OR project_id = ANY($3))`,
      [tenantId, eventId ?? null, projects ?? null],
    );
    return rows[0].n;
  }

  async queueDepth(): Promise<number> {
    const { rows } = await this.#query<{ n: number }>(ALL_TENANTS, "SELECT count(*)::int AS n FROM ingest_queue");
    return rows[0].n;
  }

  async headsAhead(): Promise<LogHead[]> {
    const { rows } = await this.#query<HeadRow>(
      ALL_TENANTS,
      `SELECT tenant_id, size, compact_range FROM audit_heads h
       WHERE size > coalesce((SELECT max(size) FROM audit_checkpoints c WHERE c.tenant_id = h.tenant_id), 0)`,
    );
    return rows.map(toHead);
  }

  async head(scope: TenantScope, tenantId: string): Promise<LogHead | undefined> {
    const { rows } = await this.#query<HeadRow>(
      scope,
      "SELECT tenant_id, size, compact_range FROM audit_heads WHERE tenant_id = $1",
      [tenantId],
    );
    return rows[0] && toHead(rows[0]);
  }

  async addCheckpoint(checkpoint: StoredCheckpoint): Promise<void> {
    await this.#query(
      { tenantId: checkpoint.tenantId },
      `INSERT INTO audit_checkpoints (tenant_id, size, root_hash, note) VALUES ($1, $2, $3, $4)
       ON CONFLICT (tenant_id, size) DO NOTHING`,
      [checkpoint.tenantId, String(checkpoint.size), asBuffer(checkpoint.rootHash), checkpoint.note],
    );
  }

  async checkpoint(scope: TenantScope, tenantId: string, size?: bigint): Promise<StoredCheckpoint | undefined> {
    if (size === undefined) return this.#checkpoint(this.#pool, scope, tenantId, size);
    return this.#replicaThenPrimary((pool) => this.#checkpoint(pool, scope, tenantId, size));
  }

  async #checkpoint(pool: pg.Pool, scope: TenantScope, tenantId: string, size?: bigint) {
    const { rows } = await this.#query<CheckpointRow>(
      scope,
      `SELECT tenant_id, size, root_hash, note FROM audit_checkpoints
       WHERE tenant_id = $1 AND ($2::int8 IS NULL OR size = $2::int8) ORDER BY size DESC LIMIT 1`,
      [tenantId, size === undefined ? null : String(size)],
      pool,
    );
    return rows[0] && toCheckpoint(rows[0]);
  }

  async checkpoints(
    scope: TenantScope,
    tenantId: string,
    fromSize: bigint,
    limit: number,
  ): Promise<StoredCheckpoint[]> {
    const { rows } = await this.#query<CheckpointRow>(
      scope,
      `SELECT tenant_id, size, root_hash, note FROM audit_checkpoints
       WHERE tenant_id = $1 AND size >= $2::int8 ORDER BY size LIMIT $3`,
      [tenantId, String(fromSize), limit],
    );
    return rows.map(toCheckpoint);
  }

  async entry(scope: TenantScope, tenantId: string, eventId: string): Promise<LogEntry | undefined> {
    return this.#replicaThenPrimary(async (pool) => {
      const { rows } = await this.#query<EntryRow>(
        scope,
        `SELECT l.position, e.event_id, l.content_hash, l.hash_prev, e.payload, e.project_id, e.purged_by
         FROM events e CROSS JOIN LATERAL chaukas_log_leaf(e.tenant_id, e.stored_xid, e.event_id) l
         WHERE e.tenant_id = $1 AND e.event_id = $2`,
        [tenantId, eventId],
        pool,
      );
      return rows[0] && toEntry(rows[0]);
    });
  }

  async entries(scope: TenantScope, tenantId: string, from: bigint, limit: number): Promise<LogEntry[]> {
    const { rows } = await this.#query<EntryRow>(
      scope,
      `WITH leaves AS (
         (SELECT position, event_id, content_hash, hash_prev FROM audit_leaves
          WHERE tenant_id = $1 AND position >= $2::int8 ORDER BY position LIMIT $3::int8)
         UNION ALL
         (SELECT leaf.position, leaf.event_id, leaf.content_hash, leaf.hash_prev
          FROM audit_leaf_tiles t CROSS JOIN LATERAL chaukas_tile_leaves(t) leaf
          WHERE t.tenant_id = $1 AND t.first_position > $2::int8 - ${TILE_WIDTH}
            AND t.first_position < $2::int8 + $3::int8 AND leaf.position >= $2::int8))
       SELECT l.position, l.event_id, l.content_hash, l.hash_prev, e.payload, e.project_id, e.purged_by
       FROM leaves l LEFT JOIN events e ON e.tenant_id = $1 AND e.event_id = l.event_id
       ORDER BY l.position LIMIT $3::int8`,
      [tenantId, String(from), limit],
    );
    return rows.map(toEntry);
  }

  async subtreeHashes(scope: TenantScope, tenantId: string, ids: readonly NodeId[]): Promise<Uint8Array[]> {
    let hashes = await this.#subtrees(this.#reads, scope, tenantId, ids);
    if (this.#reads !== this.#pool && hashes.includes(undefined)) {
      hashes = await this.#subtrees(this.#pool, scope, tenantId, ids);
    }
    return ids.map((id, i) => required(hashes[i], id));
  }

  /** Each subtree's hash, undefined where a node or leaf it needs is not stored. */
  async #subtrees(
    pool: pg.Pool,
    scope: TenantScope,
    tenantId: string,
    ids: readonly NodeId[],
  ): Promise<(Uint8Array | undefined)[]> {
    const high = ids.filter((id) => id.level >= STORED_NODE_MIN_LEVEL);
    const low = ids.filter((id) => id.level < STORED_NODE_MIN_LEVEL);
    const positions = low.flatMap((id) => leafPositions(id));
    const [stored, leaves] = await inTenantScope(pool, scope, async (client) => [
      await selectNodes(client, tenantId, high),
      (
        await client.query<{ position: string; content_hash: Buffer }>(SELECT_LEAVES_AT, [
          tenantId,
          positions.map(String),
        ])
      ).rows,
    ]);
    const leafHashes = new Map(leaves.map((row) => [Number(row.position), leafHash(row.content_hash)]));
    return ids.map((id) => {
      if (id.level >= STORED_NODE_MIN_LEVEL) return stored.get(nodeKey(id));
      // A small subtree's hash is the root of its leaves alone.
      const range = CompactRange.empty();
      for (const position of leafPositions(id)) {
        const hash = leafHashes.get(position);
        if (!hash) return undefined;
        range.append(hash);
      }
      return range.root();
    });
  }

  async storedNodes(scope: TenantScope, tenantId: string, ids: readonly NodeId[]): Promise<(Uint8Array | undefined)[]> {
    const stored = await inTenantScope(this.#pool, scope, (client) => selectNodes(client, tenantId, ids));
    return ids.map((id) => stored.get(nodeKey(id)));
  }

  async eventsOutsideLog(scope: TenantScope, tenantId: string, limit: number): Promise<string[]> {
    const { rows } = await this.#query<{ event_id: string }>(
      scope,
      // A leaf at or past the head's size is not in the log, whatever row holds it.
      `SELECT event_id FROM events e WHERE tenant_id = $1
         AND NOT EXISTS (SELECT 1 FROM chaukas_log_leaf(e.tenant_id, e.stored_xid, e.event_id) l
                         WHERE l.position < (SELECT h.size FROM audit_heads h WHERE h.tenant_id = e.tenant_id))
         AND NOT EXISTS (SELECT 1 FROM ingest_queue q WHERE q.to_log AND q.tenant_id = e.tenant_id AND q.event_id = e.event_id)
       ORDER BY event_id LIMIT $2`,
      [tenantId, limit],
    );
    return rows.map((row) => row.event_id);
  }

  #query<R extends pg.QueryResultRow>(scope: TenantScope, text: string, values: unknown[] = [], pool = this.#pool) {
    return queryInTenantScope<R>(pool, scope, text, values);
  }

  /** Read on the replica; what it does not have yet, on the primary. */
  async #replicaThenPrimary<T>(read: (pool: pg.Pool) => Promise<T | undefined>): Promise<T | undefined> {
    const found = await read(this.#reads);
    return found !== undefined || this.#reads === this.#pool ? found : read(this.#pool);
  }
}

const LOCK_HEADS = `
INSERT INTO audit_heads (tenant_id, size, compact_range, last_content_hash)
SELECT tenant_id, 0, '', '' FROM unnest($1::text[]) WITH ORDINALITY AS t(tenant_id, n) ORDER BY n
ON CONFLICT (tenant_id) DO UPDATE SET size = audit_heads.size
RETURNING tenant_id, size, compact_range, last_content_hash`;

/** $1..$6: one row per tile, $4 its first event id's index (from 1) in $7, every appended event id in order. */
const APPEND = `
WITH tiles AS (
  INSERT INTO audit_leaf_tiles (tenant_id, first_position, first_xid, first_event_id, first_key, event_ids,
                                content_hashes, hash_prev)
  SELECT tenant_id, first_position, first_xid::xid8, ($7::text[])[first_event_index],
         chaukas_log_key(first_xid::xid8, ($7::text[])[first_event_index]),
         ($7::text[])[first_event_index:first_event_index + length(content_hashes) / 32 - 1], content_hashes, hash_prev
  FROM unnest($1::text[], $2::int8[], $3::text[], $4::int8[], $5::bytea[], $6::bytea[])
    AS t(tenant_id, first_position, first_xid, first_event_index, content_hashes, hash_prev)
), nodes AS (
  INSERT INTO audit_nodes (tenant_id, level, index, hash)
  SELECT * FROM unnest($8::text[], $9::int2[], $10::int8[], $11::bytea[])
)
UPDATE audit_heads h SET size = u.size, compact_range = u.compact_range, last_content_hash = u.last_content_hash
FROM unnest($12::text[], $13::int8[], $14::bytea[], $15::bytea[]) AS u(tenant_id, size, compact_range, last_content_hash)
WHERE h.tenant_id = u.tenant_id`;

/** $1 tenant, $2 positions: each position's content hash, from audit_leaves or the tile that holds it. */
const SELECT_LEAVES_AT = `
SELECT position, content_hash FROM audit_leaves WHERE tenant_id = $1 AND position = ANY($2::int8[])
UNION ALL
SELECT leaf.position, leaf.content_hash
FROM unnest($2::int8[]) AS p(position)
CROSS JOIN LATERAL (SELECT t FROM audit_leaf_tiles t WHERE t.tenant_id = $1 AND t.first_position <= p.position
                    ORDER BY t.first_position DESC LIMIT 1) tile
CROSS JOIN LATERAL chaukas_tile_leaves(tile.t) leaf
WHERE leaf.position = p.position`;

interface HeadRow {
  tenant_id: string;
  size: string;
  compact_range: Buffer;
  last_content_hash: Buffer;
}

interface CheckpointRow {
  tenant_id: string;
  size: string;
  root_hash: Buffer;
  note: string;
}

interface EntryRow {
  position: string;
  event_id: string;
  content_hash: Buffer;
  hash_prev: Buffer;
  payload: Buffer | null;
  project_id: string | null;
  purged_by: string | null;
}

/** Column arrays for one unnest() insert: push a row, pass `arrays` as parameters. */
class Columns {
  readonly arrays: unknown[][];

  constructor(width: number) {
    this.arrays = Array.from({ length: width }, () => []);
  }

  push(...row: unknown[]): void {
    row.forEach((value, i) => {
      this.arrays[i].push(value);
    });
  }
}

async function selectNodes(client: pg.PoolClient, tenantId: string, ids: readonly NodeId[]) {
  const { rows } = await client.query<{ level: number; index: string; hash: Buffer }>(
    `SELECT level, index, hash FROM audit_nodes
     WHERE tenant_id = $1 AND (level, index) IN (SELECT * FROM unnest($2::int2[], $3::int8[]))`,
    [tenantId, ids.map((id) => id.level), ids.map((id) => String(id.index))],
  );
  return new Map(rows.map((row) => [nodeKey({ level: row.level, index: Number(row.index) }), row.hash]));
}

function leafPositions(id: NodeId): number[] {
  const width = 2 ** id.level;
  return Array.from({ length: width }, (_, i) => id.index * width + i);
}

const nodeKey = (id: NodeId) => `${id.level}/${id.index}`;

function required(hash: Uint8Array | undefined, id: NodeId): Uint8Array {
  if (!hash) throw new Error(`audit log subtree ${nodeKey(id)} is not stored`);
  return hash;
}

function splitHashes(bytes: Buffer): Uint8Array[] {
  const hashes = [];
  for (let i = 0; i < bytes.length; i += HASH_SIZE) hashes.push(bytes.subarray(i, i + HASH_SIZE));
  return hashes;
}

const toHead = (row: HeadRow): LogHead => ({
  tenantId: row.tenant_id,
  size: BigInt(row.size),
  compactRange: splitHashes(row.compact_range),
});

const toCheckpoint = (row: CheckpointRow): StoredCheckpoint => ({
  tenantId: row.tenant_id,
  size: BigInt(row.size),
  rootHash: row.root_hash,
  note: row.note,
});

const toEntry = (row: EntryRow): LogEntry => ({
  position: BigInt(row.position),
  eventId: row.event_id,
  contentHash: row.content_hash,
  hashPrev: row.hash_prev,
  payload: row.payload ?? undefined,
  projectId: row.project_id ?? undefined,
  purgedBy: row.purged_by ?? undefined,
});
