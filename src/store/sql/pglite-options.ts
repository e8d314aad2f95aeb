import { cpSync, existsSync } from "node:fs";
import { join } from "node:path";
import { PGlite, type PGliteOptions } from "@electric-sql/pglite";
import { CHECKPOINT_WAL_MIB } from "./embedded-checkpoints.ts";

/** The embedded store's default page cache (`shared_buffers`), in MiB; see docs/adr/0022-embedded-memory.md. */
export const DEFAULT_EMBEDDED_CACHE_MB = 16;

/**
 * A data directory fresh from PGlite's initdb, as `npm run build` leaves it beside this file's
 * built copy (scripts/pglite-template.ts). Absent when running the TypeScript (tests, the CLI):
 * PGlite's own initdb makes the directory then.
 */
export const TEMPLATE_DIR = "pglite-template";
const template = join(import.meta.dirname, TEMPLATE_DIR);

/**
 * PGlite's options. PostgreSQL sets its whole page cache up at start inside WebAssembly memory,
 * which never shrinks: `shared_buffers` is a floor of the process's RSS. After each checkpoint
 * (embedded-checkpoints.ts) PostgreSQL keeps old log segments for reuse up to `max_wal_size` past
 * it: twice the log between checkpoints is enough to reuse them all.
 */
export function pgliteOptions(cacheMb: number): PGliteOptions {
  const walMb = 2 * CHECKPOINT_WAL_MIB;
  return {
    startParams: [...PGlite.defaultStartParams, "-c", `shared_buffers=${cacheMb}MB`, "-c", `max_wal_size=${walMb}MB`],
  };
}

/**
 * Fills an empty data directory from the template. PGlite's initdb runs a second PostgreSQL beside
 * the first and copies its memory: about 700 MiB more at the peak of a first start.
 */
export function seedDataDir(dataDir: string): void {
  if (existsSync(template) && !existsSync(join(dataDir, "PG_VERSION"))) cpSync(template, dataDir, { recursive: true });
}
