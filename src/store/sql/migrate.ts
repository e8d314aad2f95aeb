import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { runner } from "node-pg-migrate";
import type pg from "pg";

const MIGRATIONS_DIR = fileURLToPath(new URL("./migrations", import.meta.url));

/** The migrations this server expects applied, as node-pg-migrate names them (file name without `.sql`). */
export const MIGRATION_NAMES: readonly string[] = readdirSync(MIGRATIONS_DIR)
  .filter((file) => file.endsWith(".sql"))
  .map((file) => file.slice(0, -".sql".length));

export interface MigrationLog {
  info(msg: string): void;
}

/**
 * Brings the schema up to date with node-pg-migrate's versioned SQL files. Its advisory lock makes
 * concurrent start-ups against one PostgreSQL wait for each other instead of racing.
 */
export async function migrate(pool: pg.Pool, log: MigrationLog): Promise<void> {
  const client = await pool.connect();
  try {
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
