import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BinaryArrays } from "../../src/store/sql/binary-arrays.ts";
import { ADMIN_URL, embeddedClient, storeKinds } from "../support/databases.ts";

/**
 * Each binary array, sent as a parameter of its exact type, read back by the server as the same
 * values: on a PostgreSQL server, and on PGlite through the embedded store's own connection.
 */

const kinds = await storeKinds();

/** One array alone. */
const textArray = (values: (string | null)[]) => new BinaryArrays().text(values).build()[0];
const byteaArray = (values: Uint8Array[]) => new BinaryArrays().bytea(values).build()[0];
const int2Array = (values: number[]) => new BinaryArrays().int2(values).build()[0];
const int8Array = (values: (number | bigint)[]) => new BinaryArrays().int8(values).build()[0];
const float8Array = (values: number[]) => new BinaryArrays().float8(values).build()[0];

describe.each(kinds)("binary array parameters on %s", (kind) => {
  let client: pg.Client;
  let close: () => Promise<void>;

  beforeAll(async () => {
    if (kind === "embedded") {
      ({ client, close } = await embeddedClient());
    } else {
      client = new pg.Client({ connectionString: ADMIN_URL });
      await client.connect();
      close = () => client.end();
    }
  });

  afterAll(() => close());

  /** The array's elements as PostgreSQL reads them, each as text, with its position. */
  async function readBack(type: string, array: Buffer): Promise<{ n: string; value: string | null }[]> {
    const { rows } = await client.query<{ n: string; value: string | null }>(
      `SELECT n::text, v::text AS value FROM unnest($1::${type}[]) WITH ORDINALITY AS t(v, n) ORDER BY n`,
      [array],
    );
    return rows;
  }

  const values = async (type: string, array: Buffer) => (await readBack(type, array)).map((r) => r.value);

  it("text: ASCII, the empty string, 2- to 4-byte characters, a long string and NULL, in order", async () => {
    const long = "x".repeat(70_000);
    const texts = ["event-1", "", "é", "日本語", "🦀 emoji", 'quote " and \\ backslash, {braces}', long, "last"];
    expect(await values("text", textArray(texts))).toEqual(texts);
    expect(await values("text", textArray(["a", null, "c"]))).toEqual(["a", null, "c"]);
    const { rows } = await client.query<{ nulls: boolean }>("SELECT array_position($1::text[], NULL) = 2 AS nulls", [
      textArray(["a", null]),
    ]);
    expect(rows[0].nulls).toBe(true);
  });

  it("an empty array has no elements, of each type", async () => {
    expect(await values("text", textArray([]))).toEqual([]);
    expect(await values("int2", int2Array([]))).toEqual([]);
    expect(await values("int8", int8Array([]))).toEqual([]);
    const { rows } = await client.query<{ n: number }>("SELECT cardinality($1::bytea[]) AS n", [byteaArray([])]);
    expect(rows[0].n).toBe(0);
  });

  it("bytea: each byte string whole, the empty one included, in order", async () => {
    const parts = [
      Uint8Array.of(0, 1, 2, 255),
      new Uint8Array(0),
      Buffer.from("payload"),
      new Uint8Array(70_000).fill(7),
    ];
    const { rows } = await client.query<{ v: Buffer }>(
      "SELECT v FROM unnest($1::bytea[]) WITH ORDINALITY AS t(v, n) ORDER BY n",
      [byteaArray(parts)],
    );
    expect(rows.map((r) => new Uint8Array(r.v))).toEqual(parts.map((p) => new Uint8Array(p)));
  });

  it("integers at the edges of int2 and int8", async () => {
    expect(await values("int2", int2Array([0, 1, -1, 32767, -32768]))).toEqual(["0", "1", "-1", "32767", "-32768"]);
    const int8s = [0n, 1_764_800_000_123_456_789n, 9_223_372_036_854_775_807n, -9_223_372_036_854_775_808n];
    expect(await values("int8", int8Array(int8s))).toEqual(int8s.map(String));
    expect(await values("int8", int8Array([42, Number.MAX_SAFE_INTEGER]))).toEqual(["42", "9007199254740991"]);
  });

  it("float8 keeps every bit of a double", async () => {
    const doubles = [0, 0.1, -2.5e-300, 1.7976931348623157e308, 123456.789];
    const { rows } = await client.query<{ v: number }>(
      "SELECT v FROM unnest($1::float8[]) WITH ORDINALITY AS t(v, n) ORDER BY n",
      [float8Array(doubles)],
    );
    expect(rows.map((r) => r.v)).toEqual(doubles);
  });

  it("arrays built together are views of one buffer, each its own parameter", async () => {
    const [ids, levels, hashes, costs] = new BinaryArrays()
      .text(["a", null, "ü"])
      .int2([3, -4])
      .bytea([Uint8Array.of(9, 8), new Uint8Array(0)])
      .float8([0.5])
      .build();
    expect(new Set([ids, levels, hashes, costs].map((array) => array.buffer)).size).toBe(1);
    const { rows } = await client.query<{
      ids: (string | null)[];
      levels: number[];
      hashes: Buffer[];
      costs: number[];
    }>("SELECT $1::text[] AS ids, $2::int2[] AS levels, $3::bytea[] AS hashes, $4::float8[] AS costs", [
      ids,
      levels,
      hashes,
      costs,
    ]);
    expect(rows[0].ids).toEqual(["a", null, "ü"]);
    expect(rows[0].levels).toEqual([3, -4]);
    expect(rows[0].hashes.map((h) => [...h])).toEqual([[9, 8], []]);
    expect(rows[0].costs).toEqual([0.5]);
  });

  it("PostgreSQL refuses an array for a parameter of another element type", async () => {
    await expect(readBack("int8", int2Array([1]))).rejects.toThrow(
      /element type 21 \(smallint\) instead of expected 20 \(bigint\)/,
    );
  });

  it("PostgreSQL refuses NUL in text, as it does in a literal", async () => {
    await expect(readBack("text", textArray(["a\0b"]))).rejects.toThrow(/invalid byte sequence|0x00/);
  });
});

describe("values no array of the type can hold", () => {
  it("throw when the arrays are built, before anything is sent", () => {
    expect(() => int2Array([32768])).toThrow(RangeError);
    expect(() => int2Array([1.5])).toThrow(RangeError);
    expect(() => int2Array([Number.NaN])).toThrow(RangeError);
    expect(() => int8Array([1.5])).toThrow(RangeError);
    expect(() => int8Array([2n ** 63n])).toThrow(RangeError);
  });
});
