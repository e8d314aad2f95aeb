import type pg from "pg";

/**
 * The database's own protections of stored events and their logs, as the migrations set them up:
 * triggers that refuse changing or removing rows (write once), and row-level security that keeps
 * each tenant's rows apart. A superuser can switch either off; `chaukas verify` reports it.
 */

/** Tables whose rows never change, each with these two triggers calling chaukas_refuse_change(). */
const WRITE_ONCE_TABLES = [
  "events",
  "event_ids",
  "audit_leaves",
  "audit_leaf_tiles",
  "audit_nodes",
  "audit_checkpoints",
];
const WRITE_ONCE_TRIGGERS = ["_append_only", "_no_truncate"];
/** Tables under tenant isolation: events, their logs and statistics, and each tenant's settings. */
const TENANT_TABLES = [
  "events",
  "event_ids",
  "ingest_queue",
  "audit_heads",
  "audit_leaves",
  "audit_leaf_tiles",
  "audit_nodes",
  "audit_checkpoints",
  "stats_hourly",
  "stats_daily",
  "stats_sessions",
  "stats_session_hours",
  "stats_session_totals",
  "stats_one_hour_sessions",
  "stats_session_usage",
  "stats_usage_minutely",
  "stats_usage_hourly",
  "usage_backfill",
  "redaction_rules",
  "redaction_secrets",
  "retention_policies",
];
/**
 * Each tenant table's two policies, as the migrations write them: `<table>_tenant_isolation` for
 * every role, and `<table>_all_tenants` for chaukas_all_tenants and the roles that inherit its rights.
 */
const TENANT_POLICY = "tenant_id = current_setting('chaukas.tenant_id', true)";
const ALL_TENANTS_POLICY = "current_user = 'chaukas_all_tenants'";

/**
 * Functions the write-once triggers and `chaukas verify` rely on, each with the SHA-256 of its body
 * (pg_proc.prosrc) as the migrations define it, and what a replaced one could hide. The schema's
 * owner can replace a function without touching a table; a migration that redefines one changes its
 * hash here (the verify test of an intact log, test/cli/verify-tampering.test.ts, fails until
 * it does).
 */
const TRUSTED_FUNCTIONS: readonly { signature: string; bodySha256: string; hides: string }[] = [
  {
    signature: "chaukas_refuse_change()",
    bodySha256: "b79bd6c82ce3be07904182f971c5c8ca85a046c63e1590b6a8011a4c8015c3a6",
    hides: "the write-once triggers may refuse nothing",
  },
  {
    signature: "chaukas_log_leaf(text,xid8,text)",
    bodySha256: "179dc8cdb2a42668be64fe7da7c993f5bd928563c76d713b8ad2790edaf1158c",
    hides: "events left out of the log may go unreported",
  },
  {
    signature: "chaukas_log_key(xid8,text)",
    bodySha256: "dc35b80319cb72ec513dc12dcea5a505358524eeef1c4bc6fc0a52154209dc0b",
    hides: "events may be looked for in the wrong tile, and tiles appended with wrong keys",
  },
  {
    signature: "chaukas_tile_leaf(audit_leaf_tiles,integer)",
    bodySha256: "7fe9f1130ccdaa6ff814cb14ab875e0da04ceb246fe1c905cd3d3500d16c3cf4",
    hides: "the log's leaves may be read other than as stored",
  },
  {
    signature: "chaukas_tile_leaves(audit_leaf_tiles)",
    bodySha256: "b0fdfe50c7b0d685f746e27e05da729c001855f613be2a8fa5a45ca32d4196d7",
    hides: "the log's leaves may be read other than as stored",
  },
];

/**
 * Built-ins the trusted functions call with arguments of other types than their own (they are
 * polymorphic): a function of the name taking the exact types, in any schema on the search_path,
 * would be called instead. The other built-ins they call take the exact types, and pg_catalog's
 * come first.
 */
const POLYMORPHIC_BUILT_INS_CALLED = ["array_position", "cardinality"];

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
  problems.push(
    ...(await alteredFunctions(client)),
    ...(await lookalikes(client)),
    ...(await alteredPolicies(client)),
    ...(await rolesBypassingIsolation(client)),
  );
  return problems;
}

/**
 * Trusted functions missing, with another body, or run with settings of their own (a search_path
 * set on one makes its table names mean other tables).
 */
async function alteredFunctions(client: pg.ClientBase): Promise<string[]> {
  const { rows } = await client.query<{ signature: string; body_sha256: string | null; settings: string[] | null }>(
    `SELECT f.signature, encode(sha256(convert_to(p.prosrc, 'UTF8')), 'hex') AS body_sha256, p.proconfig AS settings
     FROM unnest($1::text[]) WITH ORDINALITY AS f(signature, n)
     LEFT JOIN pg_proc p ON p.oid = to_regprocedure(f.signature)
     ORDER BY f.n`,
    [TRUSTED_FUNCTIONS.map((f) => f.signature)],
  );
  const problems: string[] = [];
  rows.forEach(({ signature, body_sha256, settings }, i) => {
    const { bodySha256, hides } = TRUSTED_FUNCTIONS[i];
    const fn = `the function ${signature}`;
    if (body_sha256 === null) problems.push(`${fn} is missing: ${hides}`);
    else if (body_sha256 !== bodySha256) problems.push(`${fn} is not the one the migrations define: ${hides}`);
    else if (settings !== null) problems.push(`${fn} runs with settings of its own (${settings.join(", ")}): ${hides}`);
  });
  return problems;
}

/**
 * Functions and relations another session could take for the trusted ones, the protected tables or
 * the polymorphic built-ins: the same name in another schema (say a role's own "$user" schema,
 * which comes first in the default search_path), or another function of a trusted name.
 */
async function lookalikes(client: pg.ClientBase): Promise<string[]> {
  const { rows } = await client.query<{ object: string }>(
    `SELECT format('the function %s.%s(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)) AS object
     FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE (p.proname = ANY($1::text[])
            AND p.oid <> ALL (SELECT to_regprocedure(s) FROM unnest($2::text[]) s WHERE to_regprocedure(s) IS NOT NULL))
        OR (p.proname = ANY($3::text[]) AND n.nspname <> 'pg_catalog')
     UNION ALL
     SELECT format('the relation %s.%s', n.nspname, c.relname)
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relname = ANY($4::text[]) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
       AND c.oid <> ALL (SELECT to_regclass(t) FROM unnest($4::text[]) t WHERE to_regclass(t) IS NOT NULL)
     ORDER BY 1`,
    [
      TRUSTED_FUNCTIONS.map((f) => f.signature.slice(0, f.signature.indexOf("("))),
      TRUSTED_FUNCTIONS.map((f) => f.signature),
      POLYMORPHIC_BUILT_INS_CALLED,
      [...new Set([...WRITE_ONCE_TABLES, ...TENANT_TABLES])],
    ],
  );
  return rows.map(
    ({ object }) =>
      `${object} has the name of one the log's triggers or reads use: a session whose search_path finds it first uses it instead`,
  );
}

/**
 * Policies that are not exactly the tenant isolation policies: one altered, missing, limited to some
 * commands or given to other roles, or another permissive policy beside them (permissive policies
 * add up, so any other one widens what is visible). The expected texts are PostgreSQL's own
 * renderings of TENANT_POLICY and ALL_TENANTS_POLICY, made on a throwaway table, so they match
 * whatever the server version prints.
 */
async function alteredPolicies(client: pg.ClientBase): Promise<string[]> {
  await client.query("BEGIN");
  let expected: { tenant: string; allTenants: string };
  try {
    await client.query("CREATE TEMP TABLE chaukas_policy_probe (tenant_id text)");
    await client.query(`CREATE POLICY tenant ON chaukas_policy_probe USING (${TENANT_POLICY})`);
    await client.query(`CREATE POLICY all_tenants ON chaukas_policy_probe USING (${ALL_TENANTS_POLICY})`);
    const { rows } = await client.query<{ name: "tenant" | "all_tenants"; text: string }>(
      "SELECT polname AS name, pg_get_expr(polqual, polrelid) AS text FROM pg_policy WHERE polrelid = 'chaukas_policy_probe'::regclass",
    );
    const text = (name: string) => rows.find((row) => row.name === name)?.text ?? "";
    expected = { tenant: text("tenant"), allTenants: text("all_tenants") };
  } finally {
    await client.query("ROLLBACK");
  }
  const { rows: policies } = await client.query<{
    table_name: string;
    name: string;
    as_expected: boolean;
  }>(
    `SELECT t.table_name, p.polname AS name,
            p.polpermissive AND p.polcmd = '*' AND CASE p.polname
              WHEN t.table_name || '_tenant_isolation' THEN p.polroles = '{0}'
                AND pg_get_expr(p.polqual, p.polrelid) = $2 AND pg_get_expr(p.polwithcheck, p.polrelid) = $2
              WHEN t.table_name || '_all_tenants' THEN p.polroles = ARRAY[to_regrole('chaukas_all_tenants')]::oid[]
                AND pg_get_expr(p.polqual, p.polrelid) = $3 AND pg_get_expr(p.polwithcheck, p.polrelid) = $3
              ELSE false END AS as_expected
     FROM unnest($1::text[]) WITH ORDINALITY AS t(table_name, n)
     JOIN pg_policy p ON p.polrelid = to_regclass(t.table_name)
     ORDER BY t.n, p.polname`,
    [TENANT_TABLES, expected.tenant, expected.allTenants],
  );
  const problems: string[] = [];
  for (const table of TENANT_TABLES) {
    const own = policies.filter((policy) => policy.table_name === table);
    if (!own.some((policy) => policy.name === `${table}_tenant_isolation`)) {
      problems.push(
        `tenant isolation on ${table} is altered: its policy ${table}_tenant_isolation is missing, so with row-level security on, requests in a tenant's scope can neither read nor write its rows`,
      );
    }
    if (!own.some((policy) => policy.name === `${table}_all_tenants`)) {
      problems.push(`work across tenants cannot reach ${table}: its policy ${table}_all_tenants is missing`);
    }
    for (const policy of own.filter((p) => !p.as_expected)) {
      problems.push(
        `tenant isolation on ${table} is altered: policy ${policy.name} is not one of the tenant isolation policies`,
      );
    }
  }
  return problems;
}

/** Serving roles that row-level security does not apply to (superusers aside, which bypass everything). */
async function rolesBypassingIsolation(client: pg.ClientBase): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT rolname AS name FROM pg_roles
     WHERE rolbypassrls AND NOT rolsuper AND to_regrole('chaukas_app') IS NOT NULL AND pg_has_role(oid, 'chaukas_app', 'MEMBER')
     ORDER BY 1`,
  );
  return rows.map(
    ({ name }) => `role ${name} serves as chaukas_app with BYPASSRLS: tenant isolation does not apply to it`,
  );
}
