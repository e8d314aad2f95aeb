import net from "node:net";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { UnavailableError } from "../../src/lib/errors.ts";
import { databaseFailure } from "../../src/store/sql/database-errors.ts";

/** A server error as node-postgres reports it. */
function sqlError(code: string, message: string): pg.DatabaseError {
  return Object.assign(new pg.DatabaseError(message, 0, "error"), { code });
}

/** The error node-postgres reports for a port nothing listens on. */
async function refusedConnection(): Promise<unknown> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return new pg.Client({ host: "127.0.0.1", port, user: "postgres" }).connect().then(
    () => new Error("connected to a closed port"),
    (err: unknown) => err,
  );
}

describe("databaseFailure", () => {
  it.each([
    ["57P01", "terminating connection due to administrator command"],
    ["57P02", "terminating connection because of crash of another server process"],
    ["57P03", "the database system is starting up"],
    ["53300", "sorry, too many clients already"],
    ["08006", "connection failure"],
  ])("SQLSTATE %s (%s) is UnavailableError: the database cannot be reached", (code, message) => {
    const err = sqlError(code, message);
    const failure = databaseFailure(err);
    expect(failure).toBeInstanceOf(UnavailableError);
    expect(failure).toMatchObject({ message: "the database cannot be reached", cause: err });
  });

  it.each([
    sqlError("57014", "canceling statement due to statement timeout"),
    new Error("Query read timeout"),
    new Error("timeout exceeded when trying to connect"),
    new Error("Connection terminated due to connection timeout"),
  ])("$message is UnavailableError: the database did not answer in time", (err) => {
    expect(databaseFailure(err)).toMatchObject({
      name: "UnavailableError",
      message: "the database did not answer in time",
    });
  });

  it.each([
    new Error("Connection terminated unexpectedly"),
    new Error("Client has encountered a connection error and is not queryable"),
  ])("$message is UnavailableError", (err) => {
    expect(databaseFailure(err)).toBeInstanceOf(UnavailableError);
  });

  it("a refused connection is UnavailableError", async () => {
    const err = await refusedConnection();
    expect(err).toMatchObject({ code: "ECONNREFUSED" });
    expect(databaseFailure(err)).toBeInstanceOf(UnavailableError);
  });

  it.each([
    sqlError("23505", "duplicate key value violates unique constraint"),
    sqlError("42P01", 'relation "events" does not exist'),
    sqlError("22P02", "invalid input syntax for type bigint"),
    new Error("a content hash is 32 bytes, not 3"),
  ])("$message is the request's or the code's failure: returned as it is", (err) => {
    expect(databaseFailure(err)).toBe(err);
  });

  it("an UnavailableError, and what is not an Error, are returned as they are", () => {
    const unavailable = new UnavailableError("the database cannot be reached");
    expect(databaseFailure(unavailable)).toBe(unavailable);
    expect(databaseFailure("text")).toBe("text");
  });
});
