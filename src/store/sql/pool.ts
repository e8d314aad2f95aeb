import type pg from "pg";
import { UnavailableError } from "../../lib/errors.ts";
import type { TenantScope } from "../tenant-scope.ts";
import { queryRows, type RowFields } from "./binary-rows.ts";
import { databaseFailure } from "./database-errors.ts";
import { keptPlanName } from "./statement-names.ts";

/**
 * One statement on a pooled client, released without the error. Not `pool.query`: that drops the
 * client after any SQL error, and a connection to PostgreSQL, or a PGlite client's prepared
 * statements, would be made again for nothing. A client whose connection really failed is still
 * dropped on release (it is not queryable).
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
 * table's row-level security policies hide and refuse every row outside the scope, whatever the
 * SQL says (see the api-keys-and-tenant-isolation and tenant-policy-by-role migrations). All
 * tenants is role chaukas_all_tenants, which only roles granted it can take (see the serving-role
 * migration).
 * On a pipelining client (a PostgreSQL server's pools) the statement the body sends before its
 * first `await` leaves in one write with the opening, before the opening is answered.
 */
export async function inTenantScope<T>(
  pool: pg.Pool,
  scope: TenantScope,
  body: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  return withClient(pool, (client) => scopedTransaction(client, scope, body, { commitAlong: false }));
}

/**
 * One statement alone in a transaction in the scope, as inTenantScope runs it; on a pipelining
 * client the opening, the statement and COMMIT leave in one write and cost one round trip.
 */
export async function queryInTenantScope<R extends pg.QueryResultRow>(
  pool: pg.Pool,
  scope: TenantScope,
  text: string | pg.QueryConfig,
  values?: unknown[],
): Promise<pg.QueryResult<R>> {
  return withClient(pool, (client) =>
    scopedTransaction(client, scope, (scoped) => scoped.query<R>(text, values), { commitAlong: true }),
  );
}

/**
 * A statement alone in a transaction in the scope, as queryInTenantScope runs it (one round trip on
 * a pipelining client), its rows each made by `decode` (queryRows: in binary where it can).
 *
 * `keptPlan`: the caller says one plan that reads an index in the statement's order serves every
 * value. The statement is then named while names last (statement-names.ts), so PostgreSQL may keep
 * one generic plan for it on each connection, and runs with sorts off in its transaction
 * (`enable_sort`), named or not, so that its plans read in index order and stop at the
 * statement's LIMIT: a plan made for the few rows PostgreSQL expects would sort, and read every
 * row of a large set (docs/adr/0039-kept-plans-for-sessions-and-traces.md). JIT is off with
 * them: a sort the statement cannot do without still costs a disabled sort's 10^10, past
 * `jit_above_cost`, and a kept plan would be compiled on every run
 * (docs/adr/0042-tail-reads-in-index-order.md).
 */
export async function rowsInTenantScope<T>(
  pool: pg.Pool,
  scope: TenantScope,
  text: string,
  values: unknown[],
  decode: (row: RowFields) => T,
  options: { keptPlan?: boolean } = {},
): Promise<T[]> {
  const name = options.keptPlan ? keptPlanName(text) : undefined;
  const body = (scoped: pg.PoolClient) => queryRows(scoped, text, values, decode, name);
  return withClient(pool, (client) =>
    scopedTransaction(client, scope, body, { commitAlong: true, sortsOff: options.keptPlan === true }),
  );
}

/**
 * The transaction of inTenantScope. With `commitAlong` on a pipelining client, COMMIT is sent
 * with the body's statements; behind a statement that failed it ends the aborted transaction as
 * ROLLBACK would. `sortsOff` turns `enable_sort` and `jit` off for the transaction, in its
 * opening. Of the errors, an unavailable database's is told first (withClient then drops the
 * connection), else the first in the order sent: behind a failed opening, the body's statements
 * only fail as "transaction aborted".
 */
async function scopedTransaction<T>(
  client: pg.PoolClient,
  scope: TenantScope,
  body: (client: pg.PoolClient) => Promise<T>,
  options: { commitAlong: boolean; sortsOff?: boolean },
): Promise<T> {
  const stream = client.pipeline ? client.connection.stream : undefined;
  const commitSent = stream !== undefined && options.commitAlong;
  const sent: Promise<unknown>[] = [];
  let work: Promise<T> | undefined;
  stream?.cork();
  try {
    const opened = openScope(client, scope, options.sortsOff ?? false);
    // Called at once, so its first statement joins the write; a synchronous throw becomes a rejection.
    work = stream ? (async () => body(client))() : opened.then(() => body(client));
    sent.push(opened, work);
    if (commitSent) sent.push(client.query("COMMIT"));
  } finally {
    stream?.uncork();
  }
  const settled = await Promise.allSettled(sent);
  const failures = settled.flatMap((s) => (s.status === "rejected" ? [databaseFailure(s.reason)] : []));
  if (failures.length === 0) {
    if (!commitSent) await client.query("COMMIT");
    return work;
  }
  if (!commitSent && !failures.some((f) => f instanceof UnavailableError)) {
    // A connection that failed is closed (withClient), which rolls back; a ROLLBACK would first wait on it.
    await client.query("ROLLBACK").catch((err) => failures.push(databaseFailure(err)));
  }
  throw failures.find((f) => f instanceof UnavailableError) ?? failures[0];
}

/**
 * Opens the transaction and takes the scope's role and setting, and turns sorts and JIT off if
 * asked. BEGIN, the role and those settings go in a message of their own: if the tenant setting's
 * message failed, even to parse, the transaction is already open and aborted, so no statement
 * sent behind it runs outside the scope. A client that does not pipeline sends them as one
 * message, one round trip.
 */
function openScope(client: pg.PoolClient, scope: TenantScope, sortsOff: boolean): Promise<void> {
  const role = "tenantId" in scope ? "chaukas_tenant" : "chaukas_all_tenants";
  const settings = sortsOff ? "; SET LOCAL enable_sort = off; SET LOCAL jit = off" : "";
  const opening = `BEGIN; SET LOCAL ROLE ${role}${settings}`;
  if (!("tenantId" in scope)) return client.query(opening).then(() => {});
  const setting = `SELECT set_config('chaukas.tenant_id', ${client.escapeLiteral(scope.tenantId)}, true)`;
  if (!client.pipeline) return client.query(`${opening}; ${setting}`).then(() => {});
  return Promise.all([client.query(opening), client.query(setting)]).then(() => {});
}
