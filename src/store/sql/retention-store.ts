import type pg from "pg";
import type { ErasureSelector, Purge, PurgeCandidate, RetentionPolicy, RetentionStore } from "../retention-store.ts";
import type { TenantScope } from "../tenant-scope.ts";
import { ADVISORY_LOCK } from "./advisory-locks.ts";
import { BinaryArrays } from "./binary-arrays.ts";
import { addRecordArrays, INDEX_VALUES, RECORD_FIELDS, RECORD_PARAMETERS } from "./event-columns.ts";
import { insertAndQueueStatement } from "./event-insert.ts";
import { inTenantScope, queryInTenantScope } from "./pool.ts";

const TRY_LOCK = "SELECT pg_try_advisory_xact_lock($1) AS locked";
const LOCK = "SELECT pg_advisory_xact_lock($1), true AS locked";

/** The columns a purge rewrites: every index column but the event's tenant, id and time, which stay. */
const REWRITTEN = ["project_id", "session_id", "trace_id", "span_id", "agent_id", "type", "status", "severity"];

/**
 * Replaces intact events with their stubs: payload, index columns from the stub ($1..$13, see
 * addRecordArrays), the stubs ($14) and purged_by ($15). The stub keeps its event's time, and
 * joining on it lets the intact-by-time index find each event at once: on (tenant, id) alone, a
 * tenant the statistics do not know yet was scanned once a stub.
 */
const PURGE_EVENTS = `
WITH d AS (
  SELECT ${INDEX_VALUES}, payload
  FROM unnest(${RECORD_PARAMETERS}, $14::bytea[]) AS t(${RECORD_FIELDS}, payload)
)
UPDATE events e SET (${REWRITTEN.join(", ")}, tags, search, payload, purged_by) =
  (${REWRITTEN.map((c) => `d.${c}`).join(", ")}, d.tags, d.search, d.payload, $15::text)
FROM d WHERE e.tenant_id = d.tenant_id AND e.ts_ns = d.ts_ns AND e.event_id = d.event_id AND e.purged_by IS NULL`;

const INTACT =
  "SELECT event_id, project_id, ts_ns, payload FROM events e WHERE e.tenant_id = $1 AND e.purged_by IS NULL";

/** The RetentionStore in SQL, over the same pool and tenant isolation as the events. */
export class SqlRetentionStore implements RetentionStore {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async setPolicy(scope: TenantScope, policy: Omit<RetentionPolicy, "setAt">): Promise<void> {
    await queryInTenantScope(
      this.#pool,
      scope,
      `INSERT INTO retention_policies (tenant_id, project_id, days, set_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id, project_id) DO UPDATE SET days = $3, set_by = $4, set_at = now()`,
      [policy.tenantId, policy.projectId, policy.days, policy.setBy],
    );
  }

  async removePolicy(scope: TenantScope, tenantId: string, projectId: string): Promise<boolean> {
    const { rowCount } = await queryInTenantScope(
      this.#pool,
      scope,
      "DELETE FROM retention_policies WHERE tenant_id = $1 AND project_id = $2",
      [tenantId, projectId],
    );
    return (rowCount ?? 0) > 0;
  }

  async policies(scope: TenantScope, tenantId?: string): Promise<RetentionPolicy[]> {
    const { rows } = await queryInTenantScope<{
      tenant_id: string;
      project_id: string;
      days: number;
      set_by: string;
      set_at: Date;
    }>(
      this.#pool,
      scope,
      `SELECT tenant_id, project_id, days, set_by, set_at FROM retention_policies
         WHERE $1::text IS NULL OR tenant_id = $1 ORDER BY tenant_id, project_id`,
      [tenantId ?? null],
    );
    return rows.map((row) => ({
      tenantId: row.tenant_id,
      projectId: row.project_id,
      days: row.days,
      setBy: row.set_by,
      setAt: new Date(row.set_at),
    }));
  }

  async expired(
    scope: TenantScope,
    policy: RetentionPolicy,
    beforeNs: bigint,
    limit: number,
  ): Promise<PurgeCandidate[]> {
    // A tenant's policy leaves out the projects that have their own.
    const projects =
      policy.projectId === ""
        ? `AND NOT EXISTS (SELECT 1 FROM retention_policies p WHERE p.tenant_id = e.tenant_id AND p.project_id = e.project_id)`
        : "AND e.project_id = $4";
    const values = [policy.tenantId, String(beforeNs), limit, ...(policy.projectId === "" ? [] : [policy.projectId])];
    return this.#candidates(
      scope,
      `${INTACT} AND e.ts_ns < $2::int8 ${projects} AND e.event_id NOT LIKE 'chaukas-purge-%' ORDER BY e.ts_ns LIMIT $3`,
      values,
    );
  }

  async matching(
    scope: TenantScope,
    tenantId: string,
    selector: ErasureSelector,
    limit: number,
    after?: Pick<PurgeCandidate, "timestampNs" | "eventId">,
  ): Promise<PurgeCandidate[]> {
    // The cursor only when there is one: behind an OR, it would not bound the index scan, and each
    // batch would read the tenant from its start.
    const cursor = after ? "AND (e.ts_ns, e.event_id) > ($8::int8, $9::text)" : "";
    return this.#candidates(
      scope,
      `${INTACT} AND ($2::text IS NULL OR e.session_id = $2) AND ($3::text IS NULL OR e.agent_id = $3)
         AND ($4::text[] IS NULL OR e.event_id = ANY($4::text[])) AND ($5::text IS NULL OR e.tags @> ARRAY[$5::text])
         AND ($6::bytea IS NULL OR position($6::bytea IN e.payload) > 0) ${cursor}
         AND e.event_id NOT LIKE 'chaukas-purge-%'
       ORDER BY e.ts_ns, e.event_id LIMIT $7`,
      [
        tenantId,
        selector.sessionId ?? null,
        selector.agentId ?? null,
        selector.eventIds ?? null,
        selector.tag ?? null,
        selector.metadata ? Buffer.from(selector.metadata.value, "utf8") : null,
        limit,
        ...(after ? [String(after.timestampNs), after.eventId] : []),
      ],
    );
  }

  async purge(scope: TenantScope, purge: Purge, exclusive = false): Promise<boolean> {
    return inTenantScope(this.#pool, scope, async (client) => {
      const { rows } = await client.query<{ locked: boolean }>(exclusive ? TRY_LOCK : LOCK, [ADVISORY_LOCK.purge]);
      if (!rows[0].locked) return false;
      const { rowCount } = await client.query(PURGE_EVENTS, [
        ...addRecordArrays(new BinaryArrays(), purge.stubs)
          .bytea(purge.stubs.map((stub) => stub.payload))
          .build(),
        purge.recordId,
      ]);
      if (rowCount !== purge.stubs.length) {
        throw new Error(
          `purge ${purge.recordId}: ${purge.stubs.length - (rowCount ?? 0)} of its events were purged meanwhile; nothing was changed`,
        );
      }
      await client.query(insertAndQueueStatement([purge.record], true));
      return true;
    });
  }

  async #candidates(scope: TenantScope, text: string, values: unknown[]): Promise<PurgeCandidate[]> {
    const { rows } = await queryInTenantScope<{
      event_id: string;
      project_id: string;
      ts_ns: string;
      payload: Uint8Array;
    }>(this.#pool, scope, text, values);
    return rows.map((row) => ({
      eventId: row.event_id,
      projectId: row.project_id,
      timestampNs: BigInt(row.ts_ns),
      payload: row.payload,
    }));
  }
}
