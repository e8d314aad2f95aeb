import { PGlite } from "@electric-sql/pglite";
import { createPgConfig } from "@electric-sql/pglite/node-postgres";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { byteaArray, int2Array, int4Array, int8Array, textArray } from "../../src/store/binary-array.ts";
import { createTestDatabase, storeKinds } from "../support/databases.ts";

const kinds = await storeKinds();

/** Each array read back by the database from its binary form, element by element, as text. */
describe.each(kinds)("binary array parameters on %s", (kind) => {
  let pool: pg.Pool;
  let close: () => Promise<void>;

  beforeAll(async () => {
    if (kind === "embedded") {
      const db = await PGlite.create("memory://");
      pool = new pg.Pool(createPgConfig(db));
      close = async () => {
        await pool.end();
        await db.close();
      };
    } else {
      const db = await createTestDatabase();
      pool = new pg.Pool({ connectionString: db.url, max: 1 });
      close = async () => {
        await pool.end();
        await db.drop();
      };
    }
  });
  afterAll(() => close());

  /** The parameter as the database sees it: its elements as text, and its dimensions. */
  async function readBack(param: Buffer, type: string) {
    const { rows } = await pool.query<{ elements: string[] | null; dims: string | null; count: number }>(
      `SELECT ARRAY(SELECT x::text FROM unnest($1::${type}[]) AS x) AS elements,
              array_dims($1::${type}[]) AS dims, cardinality($1::${type}[]) AS count`,
      [param],
    );
    return rows[0];
  }

  it("reads text, including multi-byte and long strings, in order", async () => {
    const values = ["tenant-a", "", "naïve ✓ 日本語 🚀", "x".repeat(100_000), 'quote " and \\ backslash', "{,}"];
    const read = await readBack(textArray(values), "text");
    expect(read.elements).toEqual(values);
    expect(read.dims).toBe(`[1:${values.length}]`);
  });

  it("reads bytea byte for byte, including empty and large values", async () => {
    const values = [
      Buffer.from([0, 1, 2, 255]),
      Buffer.alloc(0),
      Buffer.alloc(70_000, 0xab),
      new Uint8Array([92, 120]),
    ];
    const { rows } = await pool.query<{ element: Buffer }>("SELECT unnest($1::bytea[]) AS element", [
      byteaArray(values),
    ]);
    expect(rows.map((row) => Buffer.from(row.element).toString("hex"))).toEqual(
      values.map((value) => Buffer.from(value).toString("hex")),
    );
  });

  it("reads integers at the ends of their ranges", async () => {
    expect((await readBack(int2Array([-32768, 0, 7, 32767]), "int2")).elements).toEqual(["-32768", "0", "7", "32767"]);
    expect((await readBack(int4Array([-2147483648, 1, 2147483647]), "int4")).elements).toEqual([
      "-2147483648",
      "1",
      "2147483647",
    ]);
    const int8s = [-(2n ** 63n), -1n, 0n, 1_764_000_000_123_456_789n, 2n ** 63n - 1n];
    expect((await readBack(int8Array(int8s), "int8")).elements).toEqual(int8s.map(String));
  });

  it("keeps NULL text elements as NULL", async () => {
    const { rows } = await pool.query<{ isNull: boolean; element: string | null }>(
      'SELECT x IS NULL AS "isNull", x AS element FROM unnest($1::text[]) AS x',
      [textArray(["a", null, ""])],
    );
    expect(rows).toEqual([
      { isNull: false, element: "a" },
      { isNull: true, element: null },
      { isNull: false, element: "" },
    ]);
  });

  it("reads an empty array as empty", async () => {
    for (const [param, type] of [
      [textArray([]), "text"],
      [byteaArray([]), "bytea"],
      [int8Array([]), "int8"],
    ] as const) {
      const read = await readBack(param, type);
      expect(read.elements).toEqual([]);
      expect(read.count).toBe(0);
    }
  });

  it("is refused by the database when read as another element type", async () => {
    await expect(pool.query("SELECT $1::int4[]", [textArray(["1"])])).rejects.toThrow(
      /element type 25 \(text\) instead of expected 23/,
    );
  });

  it("cannot carry NUL in text, which PostgreSQL text cannot hold", async () => {
    await expect(pool.query("SELECT $1::text[]", [textArray(["a\0b"])])).rejects.toThrow(/0x00/);
  });
});
