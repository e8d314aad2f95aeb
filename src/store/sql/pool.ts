import type pg from "pg";
import { UnavailableError } from "../../lib/errors.ts";
import type { TenantScope } from "../tenant-scope.ts";
import { databaseFailure } from "./database-errors.ts";

/**
 * One statement on a pooled client, released without the error. Not `pool.query`: that drops the
 * client after any SQL error, and over PGlite every client shares the one connection, so the next
 * queries failed with "Connection terminated unexpectedly" or got another statement's replies.
 * A client whose connection really failed is still dropped on release (it is not queryable).
 */
export async function runQuery<R extends pg.QueryResultRow>(
  pool: pg.Pool,
  text: string | pg.QueryConfig,
  values?: unknown[],
): Promise<pg.QueryResult<R>> {
  return withClient(pool, (client) => client.query<R>(text, values));
}

/**
 * Runs `body` on a checked-out client. While it is out, the pool no longer listens for the
 * client's "error" event, and a connection lost mid-query would crash the process; the query
 * itself still fails with that error, so the listener only has to exist. A database that cannot
 * serve fails as UnavailableError (see databaseFailure), and the connection that saw it is closed
 * instead of reused: after a client-side timeout, the late answer to its statement would be read
 * as the next one's.
 */
export async function withClient<T>(pool: pg.Pool, body: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect().catch((err) => {
    throw databaseFailure(err);
  });
  const ignore = () => {};
  client.on("error", ignore);
  let failure: unknown;
  try {
    return await body(client);
  } catch (err) {
    failure = databaseFailure(err);
    throw failure;
  } finally {
    client.off("error", ignore);
    client.release(failure instanceof UnavailableError ? failure : undefined);
  }
}

/**
 * Runs `body` in a transaction as role chaukas_tenant with the scope's setting, so the events
 * table's row-level security policy hides and refuses every row outside the scope, whatever
 * the SQL says (see the api-keys-and-tenant-isolation migration). All tenants is role
 * chaukas_all_tenants, which only roles granted it can take (see the serving-role migration).
 */
export async function inTenantScope<T>(
  pool: pg.Pool,
  scope: TenantScope,
  body: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  return withClient(pool, async (client) => {
    const scoped =
      "tenantId" in scope
        ? `SET LOCAL ROLE chaukas_tenant; SELECT set_config('chaukas.tenant_id', ${client.escapeLiteral(scope.tenantId)}, true)`
        : "SET LOCAL ROLE chaukas_all_tenants";
    try {
      // One round trip to open the transaction, take the role and set the scope. Inside the try: a
      // role that cannot be taken leaves the transaction open and aborted, to be rolled back.
      await client.query(`BEGIN; ${scoped}`);
      const result = await body(client);
      await client.query("COMMIT");
      return result;
    } catch (err) {
      const failure = databaseFailure(err);
      // A connection that failed is closed (withClient), which rolls back; a ROLLBACK would first wait on it.
      if (!(failure instanceof UnavailableError)) await client.query("ROLLBACK").catch(() => {});
      throw failure;
    }
  });
}

/**
 * Byte strings as one binary parameter, with each one's start (1-based) and length (`int4[]`),
 * for `substring($blob FROM start FOR length)` in the statement. node-postgres sends an array of
 * bytea as hex text: twice the bytes, built here and parsed again by PostgreSQL.
 */
export function packed(parts: readonly Uint8Array[]): [Buffer, number[], number[]] {
  const starts: number[] = [];
  let size = 0;
  for (const part of parts) {
    starts.push(size + 1);
    size += part.byteLength;
  }
  return [Buffer.concat(parts, size), starts, parts.map((part) => part.byteLength)];
}
