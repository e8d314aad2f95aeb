/** A database the server cannot start on, said in one line with what to do. */
export class DatabaseStartupError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DatabaseStartupError";
  }
}

/**
 * The driver's error at start as one line naming what is missing and the command that makes it, or
 * the error itself when it is not one a newcomer makes (those keep their detail for the log).
 * `url` is the connection string that failed; its password is never repeated.
 */
export function startupDatabaseError(err: unknown, url: string): unknown {
  if (!(err instanceof Error)) return err;
  // A refused connection reaches here as the store's UnavailableError, the driver's error its cause.
  const code = codeOf(err) ?? codeOf(err.cause);
  const target = new URL(url);
  const host = target.hostname || "localhost";
  const port = target.port || "5432";
  const user = decodeURIComponent(target.username) || "postgres";
  const database = decodeURIComponent(target.pathname.slice(1)) || user;
  const at = `PostgreSQL at ${host}:${port}`;
  const flags = `-h ${host} -p ${port}`;
  const fail = (message: string) => new DatabaseStartupError(message, { cause: err });
  switch (code) {
    case "3D000":
      return fail(
        `database "${database}" does not exist on ${at}: create it (createdb ${flags} -U postgres -O ${user} ${database}) or name another in DATABASE_URL`,
      );
    case "28000":
      return fail(
        `role "${user}" does not exist on ${at}: create it (createuser ${flags} -U postgres --pwprompt ${user}) or name another in DATABASE_URL`,
      );
    case "28P01":
      return fail(`${at} refused the password of role "${user}": check the password in DATABASE_URL`);
    case "ECONNREFUSED":
      return fail(
        `nothing answers at ${host}:${port}: start PostgreSQL there, or fix the host and port in DATABASE_URL`,
      );
    case "ENOTFOUND":
      return fail(`the host "${host}" of DATABASE_URL is not known: fix the host in DATABASE_URL`);
    default:
      return err;
  }
}

const codeOf = (err: unknown) => (err instanceof Error ? (err as { code?: string }).code : undefined);
