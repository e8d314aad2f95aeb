import pg from "pg";
import type { Metrics } from "../../lib/metrics.ts";
import type { Database } from "../database.ts";
import { meteredStore } from "../metered-store.ts";
import { BackgroundLease } from "./background-lease.ts";
import { BinaryRowsClient } from "./binary-rows.ts";
import { type DatabaseTimeouts, timeoutPoolConfig } from "./database-timeouts.ts";
import { SqlEventStore } from "./event-store.ts";
import type { EmbeddedStoreOptions } from "./open-embedded.ts";
import { prepareSchema, type SchemaLog } from "./serving-role.ts";
import { startupDatabaseError } from "./startup-errors.ts";

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
  | ({ kind: "embedded" } & Pick<EmbeddedStoreOptions, "dataDir" | "cacheMb">)
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
        // Its connections can read results in binary (queryRows in binary-rows.ts).
        Client: BinaryRowsClient,
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

  // PGlite's JavaScript is loaded only for the embedded store: a PostgreSQL server would hold it
  // in its heap for nothing (docs/adr/0032-heap-at-rest.md).
  const { openEmbeddedStore } = await import("./open-embedded.ts");
  return openEmbeddedStore(options, log);
}
