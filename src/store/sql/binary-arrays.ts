type Writer = (out: Buffer, at: number) => void;

/** ndim, has-NULLs flag, element type OID, then the one dimension's length and lower bound. */
const HEADER_SIZE = 20;

const OID = { bytea: 17, int2: 21, int8: 20, text: 25, float8: 701 } as const;

/**
 * The array parameters of one statement in PostgreSQL's binary format (what array_send writes and
 * array_recv reads): node-postgres sends a Buffer parameter in binary. A JavaScript array would go
 * as an array literal instead, every element quoted and escaped by node-postgres and parsed back
 * by PostgreSQL, which for the search text of a batch of events is most of the statement. Each
 * parameter's type must be exactly its array's (`$1::text[]` for text(), and so on): PostgreSQL
 * refuses another element type.
 *
 * All of a statement's arrays are written into one Buffer of their exact total size by build().
 */
export class BinaryArrays {
  readonly #sizes: number[] = [];
  readonly #writers: Writer[] = [];

  /** `text[]`, each string in UTF-8, null as NULL. PostgreSQL refuses NUL in text, as in a literal. */
  text(values: readonly (string | null)[]): this {
    let dataSize = 4 * values.length;
    let hasNulls = false;
    for (const value of values) {
      if (value === null) hasNulls = true;
      else dataSize += Buffer.byteLength(value, "utf8");
    }
    return this.#add(OID.text, values.length, dataSize, hasNulls, (out, at) => {
      for (const value of values) {
        if (value === null) {
          out.writeInt32BE(-1, at);
          at += 4;
          continue;
        }
        const written = out.write(value, at + 4, "utf8");
        out.writeInt32BE(written, at);
        at += 4 + written;
      }
    });
  }

  /** `bytea[]`. Uint8Arrays in a JavaScript array would go as hex text: twice the bytes. */
  bytea(values: readonly Uint8Array[]): this {
    let dataSize = 4 * values.length;
    for (const value of values) dataSize += value.byteLength;
    return this.#add(OID.bytea, values.length, dataSize, false, (out, at) => {
      for (const value of values) {
        out.writeInt32BE(value.byteLength, at);
        out.set(value, at + 4);
        at += 4 + value.byteLength;
      }
    });
  }

  /** `int2[]`; a number that is not an integer, or one outside -32768..32767, throws in build(). */
  int2(values: readonly number[]): this {
    return this.#fixedSize(OID.int2, 2, values, (out, value, at) => {
      // writeInt16BE would truncate a fraction and write NaN as 0; a literal would have been refused.
      if (!Number.isInteger(value)) throw new RangeError(`${value} is not an int2`);
      out.writeInt16BE(value, at);
    });
  }

  /** `int8[]`; a number that is not an integer, or one outside the int8 range, throws in build(). */
  int8(values: readonly (number | bigint)[]): this {
    return this.#fixedSize(OID.int8, 8, values, (out, value, at) =>
      out.writeBigInt64BE(typeof value === "bigint" ? value : BigInt(value), at),
    );
  }

  /** `float8[]`. */
  float8(values: readonly number[]): this {
    return this.#fixedSize(OID.float8, 8, values, (out, value, at) => out.writeDoubleBE(value, at));
  }

  /** The arrays in the order they were added, each a view of one new Buffer. */
  build(): Buffer[] {
    let total = 0;
    for (const size of this.#sizes) total += size;
    const out = Buffer.allocUnsafe(total);
    let at = 0;
    return this.#sizes.map((size, i) => {
      this.#writers[i](out, at);
      at += size;
      return out.subarray(at - size, at);
    });
  }

  #fixedSize<T>(oid: number, size: number, values: readonly T[], write: (out: Buffer, value: T, at: number) => void) {
    return this.#add(oid, values.length, (4 + size) * values.length, false, (out, at) => {
      for (const value of values) {
        out.writeInt32BE(size, at);
        write(out, value, at + 4);
        at += 4 + size;
      }
    });
  }

  /** One array: its header (one dimension, lower bound 1), then its elements, each length first. */
  #add(oid: number, count: number, dataSize: number, hasNulls: boolean, writeElements: Writer): this {
    this.#sizes.push(HEADER_SIZE + dataSize);
    this.#writers.push((out, at) => {
      out.writeInt32BE(1, at);
      out.writeInt32BE(hasNulls ? 1 : 0, at + 4);
      out.writeInt32BE(oid, at + 8);
      out.writeInt32BE(count, at + 12);
      out.writeInt32BE(1, at + 16);
      writeElements(out, at + HEADER_SIZE);
    });
    return this;
  }
}
