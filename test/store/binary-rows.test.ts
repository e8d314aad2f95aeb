import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/store/database.ts";
import { BinaryRowsClient, queryRows, type RowFields } from "../../src/store/sql/binary-rows.ts";
import { openDatabase } from "../../src/store/sql/open-store.ts";
import { CountingRelay } from "../support/counting-relay.ts";
import { ADMIN_URL, embeddedClient, openTestStore, postgresReachable, storeKinds } from "../support/databases.ts";
import { eventRecord } from "../support/records.ts";

/**
 * queryRows against the real thing: on a PostgreSQL server through BinaryRowsClient, whose results
 * come in PostgreSQL's binary format, and on PGlite through the embedded store's connection, whose
 * come as text. Both must give the same values.
 */

const kinds = await storeKinds();

/** Every byte value, then a run long enough to arrive in many socket reads. */
const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const LONG_BYTES = Buffer.alloc(300_000, 0xa7);
const LONG_TEXT = "x".repeat(70_000);

interface Row {
  text: string;
  int8: bigint;
  bytes: Buffer;
  optional: bigint | undefined;
}

const readRow = (row: RowFields): Row => ({
  text: row.text(),
  int8: row.int8(),
  bytes: row.bytea(),
  optional: row.nextIsNull() ? undefined : row.int8(),
});

describe.each(kinds)("queryRows on %s", (kind) => {
  let client: pg.Client;
  let close: () => Promise<void>;
  /** The formats of each result's columns, as the server described them. */
  const formats: string[][] = [];

  beforeAll(async () => {
    if (kind === "embedded") {
      ({ client, close } = await embeddedClient());
    } else {
      client = new BinaryRowsClient({ connectionString: ADMIN_URL, pipeline: true } as pg.ClientConfig);
      await client.connect();
      close = () => client.end();
    }
    // PGlite's copy of pg-protocol gives the format as its code.
    client.connection.on("rowDescription", (message: { fields: { format: string | number }[] }) => {
      formats.push(
        message.fields.map((field) => (field.format === "binary" || field.format === 1 ? "binary" : "text")),
      );
    });
  });

  afterAll(() => close());

  it("reads text, int8, bytea and NULL, the same on both stores", async () => {
    formats.length = 0;
    const rows = await queryRows(
      client,
      `SELECT * FROM (VALUES
         ('ascii', 0::int8, ''::bytea, 1::int8),
         ('é 日本語 🦀', -1, $1::bytea, NULL),
         ('', 9223372036854775807, $2::bytea, -9223372036854775808),
         ($3, 42, '\\x00ff'::bytea, NULL)) AS t(a, b, c, d)`,
      [ALL_BYTES, LONG_BYTES, LONG_TEXT],
      readRow,
    );
    expect(rows).toEqual([
      { text: "ascii", int8: 0n, bytes: Buffer.alloc(0), optional: 1n },
      { text: "é 日本語 🦀", int8: -1n, bytes: ALL_BYTES, optional: undefined },
      { text: "", int8: 2n ** 63n - 1n, bytes: LONG_BYTES, optional: -(2n ** 63n) },
      { text: LONG_TEXT, int8: 42n, bytes: Buffer.from([0x00, 0xff]), optional: undefined },
    ]);
    expect(formats).toEqual([Array(4).fill(kind === "postgres" ? "binary" : "text")]);
  });

  it("reads thousands of rows that span many reads, in order", async () => {
    const rows = await queryRows(
      client,
      "SELECT n::text, n::int8, decode(repeat(lpad(to_hex(n % 256), 2, '0'), 1000), 'hex'), NULL::int8 FROM generate_series(1, $1::int) AS n",
      [5_000],
      readRow,
    );
    expect(rows).toHaveLength(5_000);
    for (const [i, row] of rows.entries()) {
      const n = i + 1;
      expect([row.text, row.int8, row.bytes.length, row.bytes[999], row.optional]).toEqual([
        String(n),
        BigInt(n),
        1_000,
        n % 256,
        undefined,
      ]);
    }
  });

  it("keeps text results as node-postgres reads them, between binary ones on the same connection", async () => {
    // Sent together: on the pipelining PostgreSQL client they leave in one write.
    const [before, binary, after] = await Promise.all([
      client.query<{ id: string; n: string }>("SELECT 'before' AS id, 7::int8 AS n"),
      queryRows(client, "SELECT 'middle', 8::int8, '\\x0102'::bytea, NULL::int8", [], readRow),
      client.query<{ bytes: Buffer }>("SELECT '\\x0304'::bytea AS bytes"),
    ]);
    expect(before.rows).toEqual([{ id: "before", n: "7" }]);
    expect(binary).toEqual([{ text: "middle", int8: 8n, bytes: Buffer.from([1, 2]), optional: undefined }]);
    expect(after.rows).toEqual([{ bytes: Buffer.from([3, 4]) }]);
  });

  it("fails the statement with the decoder's error, and the connection serves the next one", async () => {
    // A text column read as an int8, then NULL read as text.
    await expect(queryRows(client, "SELECT 'not a number'", [], (row) => row.int8())).rejects.toThrow(
      kind === "postgres" ? "an int8 field of 12 bytes" : "Cannot convert not a number to a BigInt",
    );
    await expect(queryRows(client, "SELECT NULL::text", [], (row) => row.text())).rejects.toThrow(
      "a NULL field read as a value",
    );
    await expect(queryRows(client, "SELECT 1 / 0", [], (row) => row.int8())).rejects.toThrow("division by zero");
    expect(await queryRows(client, "SELECT 'still here'", [], (row) => row.text())).toEqual(["still here"]);
  });

  it("fails on an error that comes after rows, and a refused row fails only its own statement", async () => {
    await expect(
      queryRows(client, "SELECT n::int8, (1 / (3 - n))::int8 FROM generate_series(1, 5) AS n", [], (row) => [
        row.int8(),
        row.int8(),
      ]),
    ).rejects.toThrow("division by zero");
    // Sent together, with a statement in text on each side, one with values.
    const [before, refused, after] = await Promise.allSettled([
      client.query<{ one: number }>("SELECT 1 AS one"),
      queryRows(client, "SELECT 'x'::text", [], (row) => row.int8()),
      client.query<{ n: string }>("SELECT $1::int8 AS n", ["5"]),
    ]);
    expect(before.status === "fulfilled" && before.value.rows).toEqual([{ one: 1 }]);
    expect(refused.status).toBe("rejected");
    expect(after.status === "fulfilled" && after.value.rows).toEqual([{ n: "5" }]);
  });

  it("runs a named statement as one prepared statement, which the database may plan once", async () => {
    const text = `SELECT n::text, n::int8, ''::bytea, NULL::int8 FROM generate_series(1, 8) AS n WHERE n <= $1::int -- ${kind}`;
    for (let n = 1; n <= 8; n++) {
      const rows = await queryRows(client, text, [n], readRow, `rows-${kind}`);
      expect(rows.map((row) => row.int8)).toEqual(Array.from({ length: n }, (_, i) => BigInt(i + 1)));
    }
    const { rows } = await client.query<{ name: string; runs: string; generic: string }>(
      "SELECT name, (generic_plans + custom_plans)::text AS runs, generic_plans::text AS generic FROM pg_prepared_statements WHERE statement = $1",
      [text],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ name: `rows-${kind}`, runs: "8" });
    expect(Number(rows[0].generic)).toBeGreaterThan(0);
  });

  it("parses a named statement that failed to parse again, and runs named ones sent together", async () => {
    for (let i = 0; i < 2; i++) {
      await expect(queryRows(client, "SELEC $1::int8", ["1"], (row) => row.int8(), `bad-${kind}`)).rejects.toThrow(
        "syntax error",
      );
    }
    const answers = await Promise.all(
      ["1", "2", "3"].map((n) =>
        queryRows(client, "SELECT $1::int8 + 1", [n], (row) => row.int8(), `together-${kind}`),
      ),
    );
    expect(answers).toEqual([[2n], [3n], [4n]]);
  });
});

const requirePostgres = (await postgresReachable()) || Boolean(process.env.CI);

describe.runIf(requirePostgres)("the PostgreSQL store's pages", () => {
  let closeMigrated: () => Promise<void>;
  let relay: CountingRelay;
  let store: Database;

  beforeAll(async () => {
    const migrated = await openTestStore("postgres");
    closeMigrated = migrated.close;
    const relayed = await CountingRelay.inFrontOf(migrated.url as string);
    relay = relayed.relay;
    store = await openDatabase(
      { kind: "postgres", databaseUrl: relayed.url, poolSize: 1 },
      { info: () => {}, error: () => {} },
    );
  });

  afterAll(async () => {
    await store?.close();
    await relay?.close();
    await closeMigrated?.();
  });

  it("come from PostgreSQL with each payload as its bytes, not as hex twice their size", async () => {
    const records = Array.from({ length: 50 }, (_, i) =>
      eventRecord({
        tenantId: "bytes",
        eventId: `e-${String(i).padStart(2, "0")}`,
        payload: Buffer.alloc(1_000 + i, i),
      }),
    );
    await store.insertEvents({ tenantId: "bytes" }, records);
    const payloadBytes = records.reduce((sum, record) => sum + record.payload.length, 0);
    expect(payloadBytes).toBeGreaterThan(10_000);

    relay.reset();
    const page = await store.queryEvents(
      { tenantId: "bytes" },
      { filter: { tenantId: "bytes" }, ascending: true, limit: 50 },
    );
    expect(page.map((event) => Buffer.from(event.payload))).toEqual(
      records.map((record) => Buffer.from(record.payload)),
    );
    // In text the payloads alone would be 2 * payloadBytes; the rest of each row is under 200 bytes.
    expect(relay.bytesFromServer).toBeGreaterThan(payloadBytes);
    expect(relay.bytesFromServer).toBeLessThan(payloadBytes + 50 * 200 + 1_000);
  });
});
