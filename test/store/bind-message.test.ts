import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BinaryArrays } from "../../src/store/sql/binary-arrays.ts";
import { BinaryRowsClient } from "../../src/store/sql/binary-rows.ts";
import { type BindConfig, bindMessage, SENT_IN_PLACE_BYTES } from "../../src/store/sql/bind-message.ts";
import { ADMIN_URL, postgresReachable } from "../support/databases.ts";

/**
 * bindMessage against node-postgres's own serializer and prepareValue (the copies pg loads), and
 * against a PostgreSQL server reading what BinaryRowsClient sends with it.
 */

const fromPg = createRequire(createRequire(import.meta.url).resolve("pg"));
const serializer = fromPg("pg-protocol").serialize as { bind(config: BindConfig): Buffer };
const prepareValue = fromPg("./utils.js").prepareValue as BindConfig["valueMapper"];

const LARGE = Buffer.alloc(SENT_IN_PLACE_BYTES, 0x5a);
const LARGER = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) % 256));
const JUST_UNDER = Buffer.alloc(SENT_IN_PLACE_BYTES - 1, 0x01);

const CONFIGS: [string, BindConfig][] = [
  ["no parameters, unnamed", {}],
  [
    "every kind of value prepareValue maps, results in binary",
    {
      portal: "",
      statement: "s1",
      binary: true,
      values: [
        1,
        2.5,
        "x",
        "é 日本語 🦀",
        "",
        null,
        undefined,
        true,
        false,
        new Date(0),
        [1, "a", null],
        { a: 1 },
        12n,
        new Uint8Array([1, 2, 3]),
      ],
      valueMapper: prepareValue,
    },
  ],
  [
    "Buffers on both sides of the threshold, a multi-byte statement name",
    {
      statement: "é",
      values: [Buffer.alloc(0), JUST_UNDER, LARGE, Buffer.from("ab"), LARGER, LARGER, new Uint8Array(LARGE)],
      valueMapper: prepareValue,
    },
  ],
  [
    "a statement's binary arrays and a boolean after them",
    {
      statement: "insert",
      values: [
        ...new BinaryArrays()
          .text(["a", "ü", null])
          .bytea([LARGER, Buffer.from("xy")])
          .int8([1n, -2])
          .build(),
        true,
      ],
      valueMapper: prepareValue,
    },
  ],
  ["a portal, and values without a mapper", { portal: "pö", statement: "", values: ["text", null, LARGE] }],
  [
    "more parameters than an int16 holds",
    {
      statement: "many",
      values: Array.from({ length: 40_000 }, (_, i) => (i % 2 ? null : "v")),
      valueMapper: prepareValue,
    },
  ],
];

describe("bindMessage", () => {
  it.each(CONFIGS)("writes what pg-protocol writes: %s", (_, config) => {
    const chunks = bindMessage(config);
    expect(Buffer.concat(chunks)).toEqual(serializer.bind(config));
  });

  it("maps every value before it makes anything, and throws what the mapper throws", () => {
    const refuse = (value: unknown) => {
      if (value === "refused") throw new Error("a value the mapper refuses");
      return value;
    };
    expect(() => bindMessage({ values: [LARGE, "refused"], valueMapper: refuse })).toThrow(
      "a value the mapper refuses",
    );
    expect(() => bindMessage({ values: [LARGE, 5] })).toThrow(TypeError);
  });

  it("sends each parameter Buffer of SENT_IN_PLACE_BYTES or more as itself, and copies smaller ones", () => {
    const chunks = bindMessage({ statement: "s", values: [JUST_UNDER, LARGE, "x", LARGER] });
    expect(chunks.filter((chunk) => chunk === LARGE || chunk === LARGER)).toEqual([LARGE, LARGER]);
    expect(chunks).not.toContain(JUST_UNDER);
    // The message before LARGE, the bytes between LARGE and LARGER, and the message's end.
    expect(chunks).toHaveLength(5);
  });
});

const requirePostgres = (await postgresReachable()) || Boolean(process.env.CI);

describe.runIf(requirePostgres)("statements with large parameters on BinaryRowsClient", () => {
  let client: pg.Client;

  beforeAll(async () => {
    client = new BinaryRowsClient({ connectionString: ADMIN_URL, pipeline: true } as pg.ClientConfig);
    await client.connect();
  });

  afterAll(async () => {
    await client.end();
  });

  const md5 = (bytes: Uint8Array) => createHash("md5").update(bytes).digest("hex");

  it("reaches PostgreSQL intact, with small and text parameters between the large ones", async () => {
    const text = "ü".repeat(40_000);
    const { rows } = await client.query<Record<string, string>>(
      `SELECT md5($1::bytea) AS a, $2::int AS b, md5($3::bytea) AS c, md5($4::text) AS d, $5::text AS e, md5($6::bytea) AS f`,
      [LARGER, 7, JUST_UNDER, text, null, LARGE],
    );
    expect(rows).toEqual([
      { a: md5(LARGER), b: 7, c: md5(JUST_UNDER), d: md5(Buffer.from(text)), e: null, f: md5(LARGE) },
    ]);
  });

  it("keeps statements with large parameters, sent together on one pipelining connection, apart", async () => {
    const payloads = Array.from({ length: 6 }, (_, i) => Buffer.alloc(50_000 + i * 1_000, i));
    const results = await Promise.all(
      payloads.map((payload, i) =>
        client.query<{ n: number; hash: string; total: string }>({
          name: "large-bytea-array",
          text: "SELECT $1::int AS n, md5($2::bytea) AS hash, (SELECT sum(length(b)) FROM unnest($3::bytea[]) AS b)::text AS total",
          values: [i, payload, ...new BinaryArrays().bytea([payload, LARGER]).build()],
        }),
      ),
    );
    expect(results.map((r) => r.rows[0])).toEqual(
      payloads.map((payload, i) => ({ n: i, hash: md5(payload), total: String(payload.length + LARGER.length) })),
    );
  });

  it("writes a large parameter to the socket as itself", async () => {
    const stream = client.connection.stream as unknown as { write(chunk: unknown, ...rest: unknown[]): boolean };
    const write = stream.write;
    const written: unknown[] = [];
    stream.write = function (this: unknown, chunk: unknown, ...rest: unknown[]) {
      written.push(chunk);
      return write.call(this, chunk, ...rest);
    };
    try {
      const { rows } = await client.query<{ n: number }>("SELECT length($1::bytea) AS n", [LARGER]);
      expect(rows).toEqual([{ n: LARGER.length }]);
    } finally {
      stream.write = write;
    }
    expect(written.filter((chunk) => chunk === LARGER)).toHaveLength(1);
  });

  it("fails a statement PostgreSQL refuses, or whose value cannot be mapped, and the connection serves the next one", async () => {
    await expect(client.query("SELECT $1::int", [LARGER])).rejects.toThrow(/binary data format/);
    const unmappable = {
      toPostgres() {
        throw new Error("no text for this value");
      },
    };
    // First: node-postgres 8.23 passes prepareValue the index, which it takes for its `seen` list.
    await expect(client.query("SELECT $1::text, $2::bytea", [unmappable, LARGER])).rejects.toThrow(
      "no text for this value",
    );
    const { rows } = await client.query<{ n: number }>("SELECT length($1::bytea) AS n", [LARGE]);
    expect(rows).toEqual([{ n: LARGE.length }]);
  });
});
