/**
 * Reading the protobuf wire format in place, without allocating: the varints and record bounds
 * that canonical-wire.ts checks and event-wire.ts then reads. Only minimal encodings are
 * accepted, as a decode followed by an encode would give back.
 */

export const VARINT = 0;
export const BIT64 = 1;
export const LEN = 2;
export const BIT32 = 5;

// readVarint's end, and skipValue's content start for length-delimited values.
export let varintEnd = 0;
export let lengthEnd = 0;

/** A minimal varint of at most 32 bits at `pos`, or -1; its end is left in varintEnd. */
export function readVarint(src: Buffer, pos: number, end: number): number {
  if (pos < end && src[pos] < 0x80) {
    varintEnd = pos + 1; // most tags and lengths
    return src[pos];
  }
  let value = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (pos >= end) return -1;
    const b = src[pos++];
    value += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) {
      if (b === 0) return -1; // a longer form than needed
      if (value > 0xffffffff) return -1;
      varintEnd = pos;
      return value;
    }
  }
  return -1;
}

/** The end of the value of wire type `wireType` at `pos`, or -1. */
export function skipValue(src: Buffer, pos: number, end: number, wireType: number): number {
  switch (wireType) {
    case VARINT: {
      for (let i = 0; i < 10; i++) {
        if (pos + i >= end) return -1;
        const b = src[pos + i];
        if (b < 0x80) return b === 0 && i > 0 ? -1 : pos + i + 1;
      }
      return -1;
    }
    case BIT64:
      return pos + 8 <= end ? pos + 8 : -1;
    case BIT32:
      return pos + 4 <= end ? pos + 4 : -1;
    case LEN: {
      const length = readVarint(src, pos, end);
      if (length < 0 || varintEnd + length > end) return -1;
      lengthEnd = varintEnd;
      return varintEnd + length;
    }
    default:
      return -1; // groups, and wire types 6 and 7
  }
}
