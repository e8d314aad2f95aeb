import { UnavailableError } from "../../lib/errors.ts";

/**
 * SQLSTATEs of a database that cannot serve right now, whatever the statement: a connection lost
 * or refused (class 08), a server shutting down, crashed or starting (57P01 admin_shutdown, 57P02
 * crash_shutdown, 57P03 cannot_connect_now), no connection slot left (53300 too_many_connections).
 */
const UNAVAILABLE_SQLSTATES = new Set([
  "08000",
  "08001",
  "08003",
  "08004",
  "08006",
  "57P01",
  "57P02",
  "57P03",
  "53300",
]);
/** query_canceled: a statement cancelled at statement_timeout (this server cancels for nothing else). */
const STATEMENT_TIMEOUT = "57014";

/** Socket errors of a connection that could not be made or was cut. */
const UNAVAILABLE_SOCKET_ERRORS = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
]);

/** node-postgres's own errors for a connection lost, not made in time, or silent past query_timeout. */
const LOST_CONNECTION = [/^Connection terminated/, /is not queryable$/];
const NO_ANSWER = [
  /^timeout exceeded when trying to connect$/,
  /^Connection terminated due to connection timeout$/,
  /^Query read timeout$/,
];

/**
 * A node-postgres error as the domain sees it: an UnavailableError (retryable) when the database,
 * not the request, failed; any other error as it is. Applied once, where the store uses a connection.
 */
export function databaseFailure(err: unknown): unknown {
  if (!(err instanceof Error) || err instanceof UnavailableError) return err;
  const code = "code" in err && typeof err.code === "string" ? err.code : undefined;
  if (code === STATEMENT_TIMEOUT || NO_ANSWER.some((pattern) => pattern.test(err.message))) {
    return new UnavailableError("the database did not answer in time", { cause: err });
  }
  if (
    (code !== undefined && (UNAVAILABLE_SQLSTATES.has(code) || UNAVAILABLE_SOCKET_ERRORS.has(code))) ||
    LOST_CONNECTION.some((pattern) => pattern.test(err.message))
  ) {
    return new UnavailableError("the database cannot be reached", { cause: err });
  }
  return err;
}
