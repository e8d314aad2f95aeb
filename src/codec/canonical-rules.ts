/**
 * The canonical protobuf binary encoding, for content hashes that third parties recompute in any
 * language: its rules, stated once, and the tables both of its encoders use (canonical-binary.ts
 * from a message, canonical-wire.ts from its wire bytes). For messages without extensions it is byte for byte the output of Go's
 * `proto.MarshalOptions{Deterministic: true}.Marshal` and of Python's
 * `SerializeToString(deterministic=True)`:
 *
 * 1. A message is its known fields in increasing field-number order, then its unknown fields.
 * 2. A singular field with implicit presence (proto3 scalar or enum without `optional`, outside a
 *    oneof) is omitted when it holds its zero value: 0, false, "", empty bytes, enum 0. For
 *    float and double only +0 is the zero value: -0 is written. A field with explicit presence
 *    (message field, oneof member, `optional`, proto2) is written whenever set, even if zero.
 * 3. A repeated scalar numeric or enum field is written packed (the proto3 default; a field
 *    declared `[packed = false]` is written as one record per element), as one length-delimited
 *    record holding the elements in order; an empty list is omitted. Repeated strings, bytes and
 *    messages are one record per element, in order.
 * 4. A map is one record per entry, sorted by key: string keys by their UTF-8 bytes (unsigned,
 *    a prefix sorts first), integer keys by numeric value (signed for int32, int64, sint32,
 *    sint64, sfixed32, sfixed64; unsigned for uint32, uint64, fixed32, fixed64), bool false
 *    before true. Each entry is a length-delimited message holding the key as field 1 and then
 *    the value as field 2, and BOTH are always written, even when zero or empty (an empty
 *    message value is the two bytes `tag(2, LEN) 0x00`). Go, upb (Python) and C++ write map
 *    entries this way, and so does protobuf-es, so the only difference from protobuf-es
 *    `toBinary` is the entry order.
 * 5. Unknown fields are written after all known fields of the message that holds them, in the
 *    order they were received, each as its original tag followed by its original bytes (Go and
 *    upb do the same).
 * 6. Otherwise the standard wire format: tags and varints minimal length, int32 and enum negative
 *    values as 10-byte sign-extended varints, sint32/sint64 zigzag, fixed-width values little
 *    endian, lengths as minimal varints, message fields length-delimited (groups / DELIMITED
 *    encoding as start tag, fields, end tag), strings as UTF-8. An unpaired UTF-16 surrogate,
 *    which only a JavaScript string can hold, is written as U+FFFD, and sorts as such in rule 4
 *    (so two map keys differing only there are written alike, in insertion order: such strings
 *    are best rejected before hashing).
 */
import { ScalarType } from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";

/** The wire type of a scalar (or, as INT32, enum) value. */
export function wireTypeOf(type: ScalarType): WireType {
  switch (type) {
    case ScalarType.STRING:
    case ScalarType.BYTES:
      return WireType.LengthDelimited;
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return WireType.Bit64;
    case ScalarType.FLOAT:
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
      return WireType.Bit32;
    default:
      return WireType.Varint;
  }
}

/**
 * Orders strings as their UTF-8 encodings compare bytewise, i.e. by code point. UTF-16 code
 * units compare the same way except around surrogates, handled by compareCodePoints.
 */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (isSurrogate(x) || isSurrogate(y)) return compareCodePoints(toWellFormed(a), toWellFormed(b));
    return x - y;
  }
  return a.length - b.length;
}

const isSurrogate = (unit: number): boolean => (unit & 0xf800) === 0xd800;

/**
 * For well-formed strings: a surrogate pair encodes U+10000 and up, so it sorts after the units
 * U+E000..U+FFFF that are numerically larger than surrogates.
 */
function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x - y;
  }
  return a.length - b.length;
}

// The encoder writes lone surrogates as U+FFFD, and so must the comparison see them.
// (String.prototype.toWellFormed is ES2024: in Node 24, not in this project's ES2023 lib.)
const toWellFormed = (s: string): string => (s as string & { toWellFormed(): string }).toWellFormed();

/** Rule 4 for keys still in their wire bytes: bytewise, a prefix first. */
export function compareUtf8Bytes(src: Uint8Array, aStart: number, aEnd: number, bStart: number, bEnd: number): number {
  const n = Math.min(aEnd - aStart, bEnd - bStart);
  for (let i = 0; i < n; i++) {
    const d = src[aStart + i] - src[bStart + i];
    if (d !== 0) return d;
  }
  return aEnd - aStart - (bEnd - bStart);
}
