import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { runner } from "node-pg-migrate";
import type pg from "pg";

const MIGRATIONS_DIR = fileURLToPath(new URL("../../src/store/sql/migrations", import.meta.url));

/** Every migration, in the order they apply. */
export const MIGRATIONS = readdirSync(MIGRATIONS_DIR)
  .filter((f) => f.endsWith(".sql"))
  .map((f) => f.slice(0, -".sql".length))
  .sort();

/** Applies (up) or undoes (down) the next `count` migrations with the client, as node-pg-migrate does at start-up. */
export function runMigrations(client: pg.Client, direction: "up" | "down", count: number) {
  return runner({
    dbClient: client,
    dir: MIGRATIONS_DIR,
    direction,
    count,
    migrationsTable: "schema_migrations",
    log: () => {},
  });
}

/** Applies every migration before `name`: the schema as it was before that one. */
export async function migrateUpTo(client: pg.Client, name: string): Promise<void> {
  const before = MIGRATIONS.indexOf(name);
  if (before < 0) throw new Error(`no migration ${name}`);
  await runMigrations(client, "up", before);
}
