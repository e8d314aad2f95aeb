import pg from "pg";
import { type MigrationLog, migrate, missingMigrations } from "./migrate.ts";
import { runQuery, withClient } from "./pool.ts";

export interface SchemaLog extends MigrationLog {
  /** Told when the serving role could alter the schema. */
  warn?(msg: string): void;
}

/** The schema is older than this server, and the serving role may not migrate it. */
export class SchemaBehindError extends Error {
  constructor(role: string) {
    super(
      `the database schema is not up to date, and role "${role}" does not own it: run \`chaukas migrate\` ` +
        "with the owning role's connection, or start with --migrate-database-url (see docs/deployment.md)",
    );
    this.name = "SchemaBehindError";
  }
}

/** The serving login may not read the schema's bookkeeping: it was not made a member of chaukas_app. */
export class ServingRoleNotGrantedError extends Error {
  constructor(role: string) {
    super(
      `role "${role}" may not read the schema's tables: make it a member of chaukas_app ` +
        `(GRANT chaukas_app TO "${role}", as the schema's owner or an administrator; see docs/deployment.md)`,
    );
    this.name = "ServingRoleNotGrantedError";
  }
}

/**
 * Makes the schema current before `pool` serves. Migrations run on a connection of their own,
 * closed afterwards and without the pool's statement bound (a schema change may take long on a big
 * table, and concurrent start-ups wait for each other's migration lock): the owning role's
 * (`urls.owner`), or else the serving one's where that role owns the schema. A serving role that does not checks that
 * the schema it serves from is current; one that could alter the schema (switch off the
 * write-once triggers or row-level security) is reported.
 */
export async function prepareSchema(
  pool: pg.Pool,
  urls: { serving: string; owner?: string },
  log: SchemaLog,
): Promise<void> {
  if (urls.owner) await migrateWith(urls.owner, log);
  else if ((await servingRole(pool)).canAlterSchema) await migrateWith(urls.serving, log);
  const role = await servingRole(pool);
  if (role.canAlterSchema) {
    log.warn?.(
      `database role "${role.name}" serves requests and can alter the schema: it could switch off ` +
        "write-once and row-level security. Serve as a role without those rights (see docs/deployment.md)",
    );
  } else if (!(await isMigrated(pool, role.name))) {
    // Also where `urls.owner` named another database than the pool's.
    throw new SchemaBehindError(role.name);
  }
}

/** Runs the migrations on a connection to `url` of their own. */
export async function migrateWith(url: string, log: MigrationLog): Promise<void> {
  const owner = new pg.Pool({ connectionString: url, max: 1, connectionTimeoutMillis: 10_000 });
  try {
    await migrate(owner, log);
  } finally {
    await owner.end();
  }
}

/**
 * The connected role, and whether it can alter the schema: a superuser, a member of the role that
 * owns `events`, or, while there is no schema yet, a role that may create it (and would own it).
 */
async function servingRole(pool: pg.Pool): Promise<{ name: string; canAlterSchema: boolean }> {
  const { rows } = await runQuery<{ name: string; can_alter: boolean }>(
    pool,
    `SELECT current_user AS name, r.rolsuper OR CASE WHEN c.oid IS NULL THEN has_schema_privilege(current_schema(), 'CREATE')
                                              ELSE pg_has_role(c.relowner, 'MEMBER') END AS can_alter
     FROM pg_roles r LEFT JOIN pg_class c ON c.oid = to_regclass('events')
     WHERE r.rolname = current_user`,
  );
  return { name: rows[0].name, canAlterSchema: rows[0].can_alter };
}

/** Whether every migration of this server is applied. */
async function isMigrated(pool: pg.Pool, role: string): Promise<boolean> {
  try {
    return (await withClient(pool, missingMigrations)).length === 0;
  } catch (err) {
    if ((err as { code?: string }).code !== "42501") throw err;
    // Not readable: a schema from before the serving role (behind), or a login never granted it.
    const { rows } = await runQuery<{ granted: boolean }>(
      pool,
      "SELECT to_regrole('chaukas_app') IS NULL OR pg_has_role('chaukas_app', 'USAGE') AS granted",
    );
    if (rows[0].granted) return false;
    throw new ServingRoleNotGrantedError(role);
  }
}
