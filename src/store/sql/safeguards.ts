import type pg from "pg";

/**
 * The database's own protections of stored events and their logs, as the migrations set them up:
 * triggers that refuse changing or removing rows (write once), and row-level security that keeps
 * each tenant's rows apart. A superuser can switch either off; `chaukas verify` reports it.
 */

/** Tables whose rows never change, each with these two triggers calling chaukas_refuse_change(). */
const WRITE_ONCE_TABLES = ["events", "audit_leaves", "audit_nodes", "audit_checkpoints"];
const WRITE_ONCE_TRIGGERS = ["_append_only", "_no_truncate"];
/** Tables of events and logs under tenant isolation. */
const TENANT_TABLES = ["events", "ingest_queue", "audit_heads", "audit_leaves", "audit_nodes", "audit_checkpoints"];

/** pg_trigger.tgenabled: 'O' fires in origin (normal) sessions, 'A' always; 'R' only on replicas, 'D' never. */
const TRIGGER_STATES: Record<string, string> = { D: "disabled", R: "enabled only for replication sessions" };

/** What is missing or switched off, one sentence each; empty when every protection is in place. */
export async function missingSafeguards(client: pg.ClientBase): Promise<string[]> {
  const problems: string[] = [];
  const { rows: triggers } = await client.query<{
    table_name: string;
    trigger_name: string;
    state: string | null;
    refuses: boolean | null;
  }>(
    `SELECT t.table_name, t.table_name || s.suffix AS trigger_name, tr.tgenabled AS state,
            tr.tgfoid = to_regproc('chaukas_refuse_change') AS refuses
     FROM unnest($1::text[]) WITH ORDINALITY AS t(table_name, n)
     CROSS JOIN unnest($2::text[]) WITH ORDINALITY AS s(suffix, m)
     LEFT JOIN pg_trigger tr ON tr.tgrelid = to_regclass(t.table_name) AND tr.tgname = t.table_name || s.suffix
     ORDER BY t.n, s.m`,
    [WRITE_ONCE_TABLES, WRITE_ONCE_TRIGGERS],
  );
  for (const { table_name, trigger_name, state, refuses } of triggers) {
    const trigger = `the write-once trigger ${trigger_name} on ${table_name}`;
    if (state === null) problems.push(`${trigger} is missing: its rows can be changed or removed`);
    else if (state in TRIGGER_STATES)
      problems.push(`${trigger} is ${TRIGGER_STATES[state]}: its rows can be changed or removed`);
    else if (!refuses) problems.push(`${trigger} does not call chaukas_refuse_change(): it may refuse nothing`);
  }
  const { rows: tables } = await client.query<{
    table_name: string;
    exists: boolean;
    enabled: boolean | null;
    forced: boolean | null;
  }>(
    `SELECT t.table_name, c.oid IS NOT NULL AS exists, c.relrowsecurity AS enabled, c.relforcerowsecurity AS forced
     FROM unnest($1::text[]) WITH ORDINALITY AS t(table_name, n)
     LEFT JOIN pg_class c ON c.oid = to_regclass(t.table_name)
     ORDER BY t.n`,
    [TENANT_TABLES],
  );
  for (const { table_name, exists, enabled, forced } of tables) {
    const isolation = `tenant isolation on ${table_name}`;
    if (!exists) problems.push(`table ${table_name} is missing`);
    else if (!enabled) problems.push(`${isolation} is off: row-level security is disabled`);
    else if (!forced) problems.push(`${isolation} is weakened: row-level security is not forced on the table's owner`);
  }
  return problems;
}
