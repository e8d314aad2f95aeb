import { WireType } from "@bufbuild/protobuf/wire";
import { asBuffer } from "../lib/bytes.ts";

// The wire types as plain numbers, for switches on the hot path.
const VARINT: number = WireType.Varint;
const BIT64: number = WireType.Bit64;
export const LEN: number = WireType.LengthDelimited;
const BIT32: number = WireType.Bit32;

/**
 * A cursor over protobuf wire bytes `buf[pos..end)`, reading in place without allocating: the one
 * hand-written protobuf reader (canonical-wire.ts checks bytes with it, event-wire.ts and
 * event-record.ts then read them). It accepts only minimal encodings, as a decode followed by an
 * encode would give back, and answers -1 instead of throwing: its callers then decode the bytes
 * with protobuf-es, which names what is wrong.
 *
 * Functions reading nested messages move the one cursor with at(), and each keeps where it is in
 * its own locals, so a message is read without a reader per level.
 */
export class WireReader {
  readonly buf: Buffer;
  pos: number;
  end: number;

  constructor(bytes: Uint8Array, pos = 0, end = bytes.length) {
    this.buf = asBuffer(bytes);
    this.pos = pos;
    this.end = end;
  }

  /** Moves the cursor to `pos`, reading up to `end`. */
  at(pos: number, end: number): this {
    this.pos = pos;
    this.end = end;
    return this;
  }

  /** A field's tag (number << 3 | wire type), or -1. */
  tag(): number {
    return this.varint();
  }

  /** A minimal varint of at most 32 bits, or -1. */
  varint(): number {
    const buf = this.buf;
    let pos = this.pos;
    if (pos < this.end && buf[pos] < 0x80) {
      this.pos = pos + 1; // most tags and lengths
      return buf[pos];
    }
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (pos >= this.end) return -1;
      const b = buf[pos++];
      value += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) {
        if (b === 0 || value > 0xffffffff) return -1; // a longer form than needed, or too large
        this.pos = pos;
        return value;
      }
    }
    return -1;
  }

  /** A varint as a signed 64-bit integer (int64), in bytes already checked. */
  int64(): bigint {
    let value = 0n;
    for (let shift = 0n; this.pos < this.end; shift += 7n) {
      const b = this.buf[this.pos++];
      value |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asIntN(64, value);
    }
    throw new RangeError("truncated varint");
  }

  /**
   * Passes over a value of `wireType`: returns where its content starts (for length-delimited
   * values after the length, otherwise the value's first byte) and leaves the cursor at its end;
   * -1 when it is malformed, a group, or wire type 6 or 7.
   */
  skip(wireType: number): number {
    const start = this.pos;
    switch (wireType) {
      case VARINT:
        for (let i = 0; i < 10 && start + i < this.end; i++) {
          const b = this.buf[start + i];
          if (b < 0x80) {
            if (b === 0 && i > 0) return -1;
            this.pos = start + i + 1;
            return start;
          }
        }
        return -1;
      case BIT64:
        return this.fixed(8);
      case BIT32:
        return this.fixed(4);
      case LEN: {
        const length = this.varint();
        const content = this.pos;
        if (length < 0 || content + length > this.end) return -1;
        this.pos = content + length;
        return content;
      }
      default:
        return -1;
    }
  }

  private fixed(size: number): number {
    const start = this.pos;
    if (start + size > this.end) return -1;
    this.pos = start + size;
    return start;
  }
}
