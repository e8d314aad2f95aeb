import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import type { Metrics } from "../../lib/metrics.ts";
import type { Database } from "../database.ts";
import { lockDataDir } from "./data-dir-lock.ts";
import { EmbeddedCheckpoints } from "./embedded-checkpoints.ts";
import { EmbeddedUpkeep, type UpkeepLog } from "./embedded-upkeep.ts";
import { DEFAULT_GROUP_COMMIT, SqlEventStore } from "./event-store.ts";
import { type MigrationLog, migrate } from "./migrate.ts";
import { embeddedPoolConfig } from "./pglite-connection.ts";
import { DEFAULT_EMBEDDED_CACHE_MB, pgliteOptions, seedDataDir } from "./pglite-options.ts";
import { keepPrivate, removeGroupAndOtherAccess } from "./private-files.ts";

/** The embedded database's upkeep (VACUUM, ANALYZE): caught up before serving, a round 30 s later, then every 10 minutes. */
const UPKEEP_FIRST_MS = 30_000;
const UPKEEP_EVERY_MS = 600_000;

export interface EmbeddedStoreOptions {
  /** Undefined means in memory (tests). */
  dataDir?: string;
  /** PostgreSQL's page cache in MiB; default DEFAULT_EMBEDDED_CACHE_MB. */
  cacheMb?: number;
  auditTrail?: boolean;
  /** Told of duplicates and of each store operation's duration; none when undefined. */
  metrics?: Metrics;
}

/** Opens PGlite in `dataDir` (locked to this process), migrates it, and returns the store over it. */
export async function openEmbeddedStore(
  options: EmbeddedStoreOptions,
  log: MigrationLog & UpkeepLog,
): Promise<Database> {
  const unlock = options.dataDir ? await lockDataDir(options.dataDir) : () => {};
  try {
    if (options.dataDir) {
      keepPrivate(options.dataDir);
      seedDataDir(options.dataDir);
    }
    const db = await PGlite.create(
      options.dataDir ?? "memory://",
      pgliteOptions(options.cacheMb ?? DEFAULT_EMBEDDED_CACHE_MB),
    );
    // A fresh directory's files come from PGlite's initdb, 0666 whatever the umask.
    if (options.dataDir) removeGroupAndOtherAccess(options.dataDir);
    const pool = new pg.Pool(embeddedPoolConfig(db));
    await migrate(pool, log);
    const upkeep = new EmbeddedUpkeep(pool, log);
    await upkeep.catchUp();
    upkeep.start(UPKEEP_FIRST_MS, UPKEEP_EVERY_MS);
    const checkpoints = new EmbeddedCheckpoints(pool, log);
    checkpoints.start();
    return new SqlEventStore(pool, {
      auditTrail: options.auditTrail,
      metrics: options.metrics,
      // PGlite runs one statement at a time: a second writer would only wait for the first.
      groupCommit: { ...DEFAULT_GROUP_COMMIT, writers: 1 },
      beforeClose: async () => {
        await Promise.all([upkeep.stop(), checkpoints.stop()]);
      },
      onClose: async () => {
        await db.close();
        unlock();
      },
    });
  } catch (err) {
    unlock();
    throw err;
  }
}
