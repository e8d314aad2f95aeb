/**
 * One-dimensional PostgreSQL arrays in the binary format that array_recv reads, as Buffers.
 * node-postgres sends a Buffer parameter in binary format, so `$1::text[]` takes it as it is. A
 * JavaScript array it sends as an array literal instead: every element quoted and escaped here,
 * then parsed again by PostgreSQL, and bytea as hex text, twice its size.
 *
 * Layout: ndim, has-nulls flag, element type OID, then per dimension its length and lower bound
 * (1), then per element its byte length and bytes (-1 and none for NULL); all integers big-endian.
 */
const BYTEA = 17;
const INT8 = 20;
const INT2 = 21;
const INT4 = 23;
const TEXT = 25;

const HEADER_BYTES = 20;
const LENGTH_BYTES = 4;
const NULL_LENGTH = -1;

/** NULL elements are kept, for the table's constraints to refuse. */
export function textArray(values: readonly (string | null)[]): Buffer {
  const lengths = values.map((value) => (value === null ? NULL_LENGTH : Buffer.byteLength(value, "utf8")));
  const dataBytes = lengths.reduce((sum, length) => sum + Math.max(length, 0), 0);
  const out = withHeader(TEXT, values.length, dataBytes, lengths.includes(NULL_LENGTH));
  let at = HEADER_BYTES;
  for (let i = 0; i < values.length; i++) {
    at = out.writeInt32BE(lengths[i], at);
    const value = values[i];
    if (value !== null) at += out.write(value, at, lengths[i], "utf8");
  }
  return out;
}

export function byteaArray(values: readonly Uint8Array[]): Buffer {
  const out = withHeader(
    BYTEA,
    values.length,
    values.reduce((sum, value) => sum + value.byteLength, 0),
  );
  let at = HEADER_BYTES;
  for (const value of values) {
    at = out.writeInt32BE(value.byteLength, at);
    out.set(value, at);
    at += value.byteLength;
  }
  return out;
}

export function int2Array(values: readonly number[]): Buffer {
  return fixedWidthArray(INT2, 2, values, (out, value, at) => out.writeInt16BE(value, at));
}

export function int4Array(values: readonly number[]): Buffer {
  return fixedWidthArray(INT4, 4, values, (out, value, at) => out.writeInt32BE(value, at));
}

export function int8Array(values: readonly bigint[]): Buffer {
  return fixedWidthArray(INT8, 8, values, (out, value, at) => out.writeBigInt64BE(value, at));
}

/** Elements of `width` bytes each, each written by `write` (which returns the offset after it). */
function fixedWidthArray<T>(
  elementType: number,
  width: number,
  values: readonly T[],
  write: (out: Buffer, value: T, at: number) => number,
): Buffer {
  const out = withHeader(elementType, values.length, width * values.length);
  let at = HEADER_BYTES;
  for (const value of values) at = write(out, value, out.writeInt32BE(width, at));
  return out;
}

/** A buffer for `count` elements of `dataBytes` in all, its header written. */
function withHeader(elementType: number, count: number, dataBytes: number, hasNulls = false): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + count * LENGTH_BYTES + dataBytes);
  out.writeInt32BE(1, 0); // one dimension, even when empty: array_recv then returns '{}'
  out.writeInt32BE(hasNulls ? 1 : 0, 4);
  out.writeInt32BE(elementType, 8);
  out.writeInt32BE(count, 12);
  out.writeInt32BE(1, 16);
  return out;
}
