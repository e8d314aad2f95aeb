import { PGlite } from "@electric-sql/pglite";
import { createPgConfig } from "@electric-sql/pglite/node-postgres";
import pg from "pg";
import type { Metrics } from "../../lib/metrics.ts";
import type { Database } from "../database.ts";
import { meteredStore } from "../metered-store.ts";
import { BackgroundLease } from "./background-lease.ts";
import { lockDataDir } from "./data-dir-lock.ts";
import { type DatabaseTimeouts, timeoutPoolConfig } from "./database-timeouts.ts";
import { EmbeddedUpkeep } from "./embedded-upkeep.ts";
import { DEFAULT_GROUP_COMMIT, SqlEventStore } from "./event-store.ts";
import { migrate } from "./migrate.ts";
import { DEFAULT_EMBEDDED_CACHE_MB, pgliteOptions, seedDataDir } from "./pglite-options.ts";
import { keepPrivate, removeGroupAndOtherAccess } from "./private-files.ts";
import { prepareSchema, type SchemaLog } from "./serving-role.ts";
import { startupDatabaseError } from "./startup-errors.ts";

/** The embedded database's upkeep (VACUUM, ANALYZE): caught up before serving, a round 30 s later, then every 10 minutes. */
const UPKEEP_FIRST_MS = 30_000;
const UPKEEP_EVERY_MS = 600_000;

export type StoreOptions = (
  | {
      kind: "postgres";
      databaseUrl: string;
      poolSize: number;
      /** The owning role's connection, used only to migrate (see prepareSchema). */
      migrateDatabaseUrl?: string;
      /** A streaming replica of `databaseUrl` for the reads that may lag (see Database). */
      readDatabaseUrl?: string;
      /** Undefined: statements unbounded (the CLI's long work), connections within 10 s. */
      timeouts?: DatabaseTimeouts;
    }
  /** `dataDir` undefined means in memory (tests); `cacheMb` PostgreSQL's page cache, default 16. */
  | { kind: "embedded"; dataDir?: string; cacheMb?: number }
) & {
  auditTrail?: boolean;
  /** Told of duplicates and of each store operation's duration; none when undefined. */
  metrics?: Metrics;
};

export interface StoreLog extends SchemaLog {
  error(obj: unknown, msg: string): void;
}

/** Opens the configured database, migrates it, and returns the store over it. */
export async function openDatabase(options: StoreOptions, log: StoreLog): Promise<Database> {
  const store = await openSqlStore(options, log);
  return options.metrics ? meteredStore(store, options.metrics) : store;
}

async function openSqlStore(options: StoreOptions, log: StoreLog): Promise<Database> {
  if (options.kind === "postgres") {
    // A database that stops answering must fail requests, not hold them and the pool forever.
    const timeouts = timeoutPoolConfig(options.timeouts ?? { statementMs: 0, connectMs: 10_000 });
    const openPool = (connectionString: string) => {
      const pool = new pg.Pool({
        connectionString,
        keepAlive: true,
        // A transaction's opening, its statement and COMMIT leave in one write (see inTenantScope).
        // node-postgres then refuses cursors and the `rows` option on these connections.
        pipeline: true,
        ...timeouts,
        max: options.poolSize,
      });
      // An idle client losing its connection must not crash the process; the next query reconnects.
      pool.on("error", (err) => log.error({ err }, "idle PostgreSQL connection failed"));
      return pool;
    };
    const pool = openPool(options.databaseUrl);
    try {
      await prepareSchema(pool, { serving: options.databaseUrl, owner: options.migrateDatabaseUrl }, log);
    } catch (err) {
      await pool.end();
      throw startupDatabaseError(err, options.databaseUrl);
    }
    const readPool = options.readDatabaseUrl ? openPool(options.readDatabaseUrl) : undefined;
    return new SqlEventStore(pool, {
      readPool,
      lease: new BackgroundLease({ connectionString: options.databaseUrl, keepAlive: true, ...timeouts }),
      auditTrail: options.auditTrail,
      metrics: options.metrics,
      onClose: async () => void (await readPool?.end()),
    });
  }

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
    const pool = new pg.Pool(createPgConfig(db));
    await migrate(pool, log);
    const upkeep = new EmbeddedUpkeep(pool, log);
    await upkeep.catchUp();
    upkeep.start(UPKEEP_FIRST_MS, UPKEEP_EVERY_MS);
    return new SqlEventStore(pool, {
      auditTrail: options.auditTrail,
      metrics: options.metrics,
      // PGlite runs one statement at a time: a second writer would only wait for the first.
      groupCommit: { ...DEFAULT_GROUP_COMMIT, writers: 1 },
      onClose: async () => {
        await upkeep.stop();
        await db.close();
        unlock();
      },
    });
  } catch (err) {
    unlock();
    throw err;
  }
}
