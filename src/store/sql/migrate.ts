import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type pg from "pg";

const MIGRATIONS_DIR = fileURLToPath(new URL("./migrations", import.meta.url));

/** The migrations this server expects applied, as node-pg-migrate names them (file name without `.sql`). */
const MIGRATION_NAMES: readonly string[] = readdirSync(MIGRATIONS_DIR)
  .filter((file) => file.endsWith(".sql"))
  .map((file) => file.slice(0, -".sql".length));

export interface MigrationLog {
  info(msg: string): void;
}

/**
 * The migrations of this server not yet applied to the database: all of them where there is no
 * schema yet (asked first, so that a new database's log holds no failed statement).
 */
export async function missingMigrations(client: pg.ClientBase): Promise<string[]> {
  const schema = await client.query<{ exists: boolean }>(
    "SELECT to_regclass('schema_migrations') IS NOT NULL AS exists",
  );
  if (!schema.rows[0].exists) return [...MIGRATION_NAMES];
  const { rows } = await client.query<{ name: string }>("SELECT name FROM schema_migrations");
  const applied = new Set(rows.map((row) => row.name));
  return MIGRATION_NAMES.filter((name) => !applied.has(name));
}

/**
 * Brings the schema up to date with node-pg-migrate's versioned SQL files. Its advisory lock makes
 * concurrent start-ups against one PostgreSQL wait for each other instead of racing. A current
 * schema is left without loading node-pg-migrate, which would hold 4 MB of the heap for the life
 * of the process (docs/adr/0032-heap-at-rest.md).
 */
export async function migrate(pool: pg.Pool, log: MigrationLog): Promise<void> {
  const client = await pool.connect();
  try {
    if ((await missingMigrations(client)).length === 0) return;
    const { runner } = await import("node-pg-migrate");
    const applied = await runner({
      dbClient: client,
      dir: MIGRATIONS_DIR,
      direction: "up",
      migrationsTable: "schema_migrations",
      singleTransaction: true,
      advisoryLockMode: "wait",
      log: () => {},
    });
    for (const migration of applied) log.info(`applied migration ${migration.name}`);
  } finally {
    client.release();
  }
}
