import { WireType } from "@bufbuild/protobuf/wire";

/** Bytes of `n` (below 2^32) as a protobuf varint. */
export function varintBytes(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
}

/** Writes `n` (below 2^32) as a varint at `at`; returns the offset after it. */
export function writeVarint(into: Uint8Array, at: number, n: number): number {
  let rest = n;
  while (rest > 0x7f) {
    into[at++] = (rest & 0x7f) | 0x80;
    rest >>>= 7;
  }
  into[at++] = rest;
  return at;
}

/** The tag of the length-delimited field numbered `fieldNumber`, written as a varint. */
export function lengthDelimitedTag(fieldNumber: number): number {
  return (fieldNumber << 3) | WireType.LengthDelimited;
}
