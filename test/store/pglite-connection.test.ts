import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { UnavailableError } from "../../src/lib/errors.ts";
import { embeddedPoolConfig } from "../../src/store/sql/pglite-connection.ts";
import { runQuery, withClient } from "../../src/store/sql/pool.ts";

/**
 * The embedded store's pool drops a client whose database failed (withClient), as over a server.
 * Over PGlite every client talks to the one backend, so a dropped client must leave it as a closed
 * server connection would: its transaction rolled back, its statements forgotten, its late replies
 * read by no one.
 */
describe("embedded pool connections", () => {
  let db: PGlite;
  let pool: pg.Pool;
  /** Whether a transaction block is open: now() is the block's start, not the statement's. */
  const inTransaction = async () =>
    (await runQuery<{ open: boolean }>(pool, "SELECT now() <> statement_timestamp() AS open")).rows[0].open;
  const lost = () => new UnavailableError("the database cannot be reached");

  beforeEach(async () => {
    db = await PGlite.create("memory://");
    pool = new pg.Pool(embeddedPoolConfig(db));
    await runQuery(pool, "CREATE TABLE notes (body text)");
  });
  afterEach(async () => {
    await pool.end();
    await db.close();
  });

  it("rolls back the transaction of a client dropped for an unavailable database, and serves on", async () => {
    const failure = withClient(pool, async (client) => {
      await client.query("BEGIN");
      await client.query("INSERT INTO notes VALUES ('from the dropped client')");
      throw lost();
    });
    await expect(failure).rejects.toBeInstanceOf(UnavailableError);
    for (let i = 0; i < 3; i++) {
      expect((await runQuery(pool, "SELECT body FROM notes")).rows).toEqual([]);
      expect(await inTransaction()).toBe(false);
    }
    await runQuery(pool, "INSERT INTO notes VALUES ('kept')");
    expect((await runQuery(pool, "SELECT body FROM notes")).rows).toEqual([{ body: "kept" }]);
  });

  it("rolls back an aborted transaction of a client dropped after a failed statement", async () => {
    await expect(
      withClient(pool, async (client) => {
        await client.query("BEGIN");
        await client.query("INSERT INTO notes VALUES ($1)", ["before the failure"]);
        await client.query("SELECT $1::int / 0", [1]).catch(() => {});
        throw lost();
      }),
    ).rejects.toBeInstanceOf(UnavailableError);
    expect(await inTransaction()).toBe(false);
    await runQuery(pool, "INSERT INTO notes VALUES ($1)", ["after"]);
    expect((await runQuery(pool, "SELECT body FROM notes")).rows).toEqual([{ body: "after" }]);
  });

  it("lets the next client prepare a statement name a dropped client had prepared", async () => {
    await expect(
      withClient(pool, async (client) => {
        await client.query({ name: "count_notes", text: "SELECT count(*)::int AS n FROM notes", values: [] });
        throw lost();
      }),
    ).rejects.toBeInstanceOf(UnavailableError);
    // The same name with another text: a statement the backend still held would be refused or run.
    const { rows } = await runQuery<{ n: number }>(pool, {
      name: "count_notes",
      text: "SELECT count(*)::int + 100 AS n FROM notes",
      values: [],
    });
    expect(rows).toEqual([{ n: 100 }]);
  });

  it("gives a dropped client's late replies to no one", async () => {
    const client = await pool.connect();
    const late = client.query("SELECT 'late' AS who FROM generate_series(1, 1000)").catch((err: Error) => err);
    client.release(lost());
    expect(await late).toBeInstanceOf(Error);
    const next = await Promise.all(
      ["a", "b", "c"].map((who) => runQuery<{ who: string }>(pool, "SELECT $1::text AS who", [who])),
    );
    expect(next.map((result) => result.rows)).toEqual([[{ who: "a" }], [{ who: "b" }], [{ who: "c" }]]);
  });

  it("answers each of 50 statements asked at once with its own rows, errors included", async () => {
    const asked = Array.from({ length: 50 }, (_, i) =>
      runQuery<{ n: number }>(pool, "SELECT $1::int / ($1::int % 7) AS n", [i]).then(
        (result) => result.rows[0].n,
        (err: Error) => err.message,
      ),
    );
    expect(await Promise.all(asked)).toEqual(
      Array.from({ length: 50 }, (_, i) => (i % 7 === 0 ? "division by zero" : Math.trunc(i / (i % 7)))),
    );
  });
});
