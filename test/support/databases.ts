import { randomBytes } from "node:crypto";
import pg from "pg";
import type { Database } from "../../src/store/database.ts";
import { BinaryRowsClient } from "../../src/store/sql/binary-rows.ts";
import { openDatabase } from "../../src/store/sql/open-store.ts";
import { embeddedPoolConfig } from "../../src/store/sql/pglite-connection.ts";

/** The PostgreSQL server tests use: TEST_DATABASE_URL, or the local one `.ci/run` starts. */
export const ADMIN_URL = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export async function postgresReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

export type StoreKind = "embedded" | "postgres";

/**
 * The stores every store-dependent suite runs on: PGlite always, PostgreSQL when reachable.
 * Under CI, PostgreSQL is required, so a missing server fails the run instead of skipping half of it.
 */
export async function storeKinds(): Promise<StoreKind[]> {
  if (await postgresReachable()) return ["embedded", "postgres"];
  if (process.env.CI) throw new Error(`PostgreSQL is not reachable at ${ADMIN_URL}, and CI requires it`);
  console.warn(`PostgreSQL is not reachable at ${ADMIN_URL}: running on the embedded store only`);
  return ["embedded"];
}

/** Runs `body` on a connection of its own to `url`, closed afterwards. */
export async function withPostgres<T>(url: string, body: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await body(client);
  } finally {
    await client.end();
  }
}

/** A brand-new PostgreSQL database, dropped by the returned function. */
export async function createTestDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `chaukas_test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: ADMIN_URL });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

const quietLog = { info: () => {}, error: () => {} };

/**
 * Opens a fresh, empty store of the given kind; `close` also drops its database. `url` is the
 * PostgreSQL database's, for tests that reach beneath the store.
 */
export async function openTestStore(
  kind: StoreKind,
  options: { auditTrail?: boolean } = {},
): Promise<{ store: Database; close: () => Promise<void>; url?: string }> {
  if (kind === "embedded") {
    const store = await openDatabase({ kind: "embedded", ...options }, quietLog);
    return { store, close: () => store.close() };
  }
  const db = await createTestDatabase();
  const store = await openDatabase({ kind: "postgres", databaseUrl: db.url, poolSize: 4, ...options }, quietLog);
  return {
    store,
    url: db.url,
    close: async () => {
      await store.close();
      await db.drop();
    },
  };
}

/** A pool of one connection, made as the server's are (open-store.ts): pipelined, binary rows. */
export function oneConnectionPool(connectionString: string): pg.Pool {
  return new pg.Pool({
    connectionString,
    pipeline: true,
    Client: BinaryRowsClient,
    max: 1,
    idleTimeoutMillis: 0,
  } as pg.PoolConfig);
}

/** A client of a fresh in-memory PGlite, through the embedded store's own connection. */
export async function embeddedClient(): Promise<{ client: pg.Client; close: () => Promise<void> }> {
  const { PGlite } = await import("@electric-sql/pglite");
  const pglite = await PGlite.create();
  const pool = new pg.Pool(embeddedPoolConfig(pglite));
  const pooled = await pool.connect();
  return {
    // node-postgres types a pooled client apart from a Client, which it is.
    client: pooled as unknown as pg.Client,
    close: async () => {
      pooled.release();
      await pool.end();
      await pglite.close();
    },
  };
}
