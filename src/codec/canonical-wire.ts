/**
 * The canonical encoding (canonical-rules.ts) made straight from a message's wire bytes, as
 * canonical-binary.ts makes it from the decoded message: decoding built about 4 KB of objects
 * per event, a third of the ingest CPU went to collecting them, and most of the rest to building
 * and encoding them.
 *
 * It takes the bytes encoders write in practice. Those decode and encode again to a permutation
 * of themselves (known fields into number order with unknown fields after them, map entries
 * sorted by key), so lengths never change and the output is the input's pieces moved. Anything a
 * decode would change rather than move returns undefined, and the caller decodes the message and
 * encodes it with canonicalBinary instead:
 * - a singular field twice (the last wins, messages merge) or two members of one oneof;
 * - an implicit-presence field written with its zero value;
 * - a tag or varint longer than its minimal encoding, or an integer out of its type's range;
 * - a wire type other than the field's, groups, repeated numbers, maps (but Struct's);
 * - invalid UTF-8 in a string (decoded as U+FFFD), a NaN (whose bits the encoder normalises);
 * - a google.protobuf.Value number that is not finite, which ingest refuses: the decode names it;
 * - in Struct, Value and ListValue: unknown fields (the JSON form drops them), a Value without
 *   exactly one kind, a null_value other than 0 (all read as null), and a map entry other than
 *   its key then its value (decoding fills what is missing; a repeated key keeps the last);
 * - nesting deeper than MAX_DEPTH.
 * test/codec/canonical-wire.test.ts holds it to canonicalBinary's output byte for byte.
 */
import { type DescField, type DescMessage, ScalarType } from "@bufbuild/protobuf";
import { FeatureSet_FieldPresence, isWrapperDesc } from "@bufbuild/protobuf/wkt";
import { compareUtf8Bytes, wireTypeOf } from "./canonical-rules.ts";
import { LEN, WireReader } from "./wire-reader.ts";

/**
 * The canonical encoding of the `desc` message in `bytes`, leaving out the top-level fields
 * numbered in `omit`; undefined when only a full decode can tell it.
 */
export function canonicalFromWire(
  desc: DescMessage,
  bytes: Uint8Array,
  omit: readonly number[] = [],
): Uint8Array | undefined {
  const reader = new WireReader(bytes);
  const src = reader.buf;
  // From Buffer's pool when small, and at most as long as the input; omitted fields shorten it.
  const out = Buffer.allocUnsafe(src.length);
  top = 0;
  ordersTop = 0;
  run.length = 0;
  const plan = planOf(desc);
  const length =
    plan.json === undefined
      ? permute(plan, reader, 0, src.length, out, 0, omit, 0)
      : move(plan, reader, 0, src.length, out, 0, 0);
  // A message with huge numbers of fields grew the stacks; they are not kept at that size.
  if (stack.length > KEPT_STACK) stack = new Int32Array(REC * 1024);
  if (orders.length > KEPT_STACK) orders = new Int32Array(1024);
  if (length < 0) return undefined;
  flush(src, out);
  return length === out.length ? out : out.subarray(0, length);
}

const KEPT_STACK = 1 << 20;

/** Deeper messages go to the full decode; protobuf-es itself stops at 100. */
const MAX_DEPTH = 64;

/** How to check and move one message type's fields. */
interface MessagePlan {
  /**
   * False when a field of the type, or of one it reaches, is of a kind not handled here. Kept on
   * the plan because recursive types hold each other's plans before they are complete.
   */
  usable: boolean;
  /** By field number (a sparse array: numbers are small in practice). */
  fields: FieldPlan[];
  /** Unknown fields are refused: the type is held as a wrapper's scalar, which drops them. */
  closed: boolean;
  /** Struct, Value and ListValue, held as JSON, are read by their own functions. */
  json: "struct" | "value" | "list" | undefined;
}

interface FieldPlan {
  wireType: number;
  /** Checks a scalar value, `start..end` being its bytes (for length-delimited: its content). */
  check: ((src: Buffer, start: number, end: number) => boolean) | undefined;
  /** The message a message field holds. */
  message: MessagePlan | undefined;
  repeated: boolean;
  /** Bit of the field's oneof in a per-message mask, 0 outside a oneof. */
  oneofBit: number;
}

const plans = new WeakMap<DescMessage, MessagePlan>();

function planOf(desc: DescMessage): MessagePlan {
  const known = plans.get(desc);
  if (known !== undefined) return known;
  const typeName = desc.typeName;
  const plan: MessagePlan = {
    usable: true,
    fields: [],
    closed: isWrapperDesc(desc),
    json: JSON_TYPES.get(typeName),
  };
  // Registered before its fields, so recursive types find it.
  plans.set(desc, plan);
  if (plan.json !== undefined) return plan; // read by moveStruct, moveValue and moveList
  plan.usable = desc.oneofs.length <= 30;
  for (const field of desc.fields) {
    const fieldPlan = fieldPlanOf(field);
    if (fieldPlan === undefined) plan.usable = false;
    else plan.fields[field.number] = fieldPlan;
  }
  return plan;
}

const JSON_TYPES = new Map<string, MessagePlan["json"]>([
  ["google.protobuf.Struct", "struct"],
  ["google.protobuf.Value", "value"],
  ["google.protobuf.ListValue", "list"],
]);

function fieldPlanOf(field: DescField): FieldPlan | undefined {
  const oneofBit = field.oneof === undefined ? 0 : 1 << field.parent.oneofs.indexOf(field.oneof);
  const base = { message: undefined, repeated: false, oneofBit };
  switch (field.fieldKind) {
    case "scalar":
    case "enum": {
      if (field.presence === FeatureSet_FieldPresence.LEGACY_REQUIRED) return undefined;
      const implicit = field.presence === FeatureSet_FieldPresence.IMPLICIT && field.oneof === undefined;
      const isNull = field.fieldKind === "enum" && field.enum.typeName === "google.protobuf.NullValue";
      const type = field.fieldKind === "enum" ? ScalarType.INT32 : field.scalar;
      return { ...base, wireType: wireTypeOf(type), check: isNull ? isNullValue : scalarCheck(type, implicit) };
    }
    case "message": {
      if (field.delimitedEncoding || field.presence === FeatureSet_FieldPresence.LEGACY_REQUIRED) return undefined;
      return { ...base, wireType: LEN, check: undefined, message: planOf(field.message) };
    }
    case "list": {
      if (field.listKind === "message") {
        if (field.delimitedEncoding) return undefined;
        return { ...base, wireType: LEN, check: undefined, message: planOf(field.message), repeated: true };
      }
      // Packing and merging repeated numbers is left to the full decode.
      if (field.listKind !== "scalar" || (field.scalar !== ScalarType.STRING && field.scalar !== ScalarType.BYTES)) {
        return undefined;
      }
      return { ...base, wireType: LEN, check: scalarCheck(field.scalar, false), repeated: true };
    }
    case "map":
      return undefined; // sorting and merging map entries is left to the full decode (Struct has its own)
  }
}

type Check = (src: Buffer, start: number, end: number) => boolean;

/** Whether a scalar decodes and encodes again to the same bytes (and, if `implicit`, is written at all). */
function scalarCheck(type: ScalarType, implicit: boolean): Check {
  const valueCheck = valueCheckOf(type);
  if (!implicit) return valueCheck;
  return (src, start, end) => !isZeroValue(src, start, end) && valueCheck(src, start, end);
}

function valueCheckOf(type: ScalarType): Check {
  switch (type) {
    case ScalarType.STRING:
      return isUtf8;
    case ScalarType.BOOL:
      return (src, start, end) => end - start === 1 && src[start] <= 1;
    case ScalarType.INT32:
      // Negative values are sign-extended to ten bytes by the encoder, whatever arrived.
      return (src, start, end) => end - start < 5 || (end - start === 5 && src[start + 4] <= 0x07);
    case ScalarType.UINT32:
    case ScalarType.SINT32:
      return (src, start, end) => end - start < 5 || (end - start === 5 && src[start + 4] <= 0x0f);
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.SINT64:
      return (src, start, end) => end - start < 10 || src[start + 9] <= 0x01;
    case ScalarType.DOUBLE:
      return (src, start) => !isNaNBits(src.readUInt32LE(start + 4), src.readUInt32LE(start), 0x7ff00000, 0xfffff);
    case ScalarType.FLOAT:
      return (src, start) => !isNaNBits(src.readUInt32LE(start), 0, 0x7f800000, 0x7fffff);
    default:
      return () => true; // bytes and fixed-width integers are kept as they are
  }
}

/** NaN: the exponent all ones and the fraction not zero (`low`: a double's low word, 0 for a float). */
function isNaNBits(high: number, low: number, exponent: number, fraction: number): boolean {
  return (high & exponent) === exponent && ((high & fraction) !== 0 || low !== 0);
}

const isNullValue: Check = (src, start, end) => end - start === 1 && src[start] === 0;

/** A value's bytes are zero when it is 0, +0.0, false or empty: a varint 0, all-zero fixed bytes, length 0. */
function isZeroValue(src: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (src[i] !== 0) return false;
  return true;
}

/** Well-formed UTF-8: no overlong forms, surrogates or code points above U+10FFFF. */
function isUtf8(src: Buffer, start: number, end: number): boolean {
  let i = start;
  while (i < end) {
    // ASCII four bytes at a time: most text is.
    while (i + 4 <= end && ((src[i] | src[i + 1] | src[i + 2] | src[i + 3]) & 0x80) === 0) i += 4;
    if (i >= end) break;
    const b = src[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    if (b >= 0xc2 && b <= 0xdf) {
      if (i + 1 >= end || (src[i + 1] & 0xc0) !== 0x80) return false;
      i += 2;
    } else if (b >= 0xe0 && b <= 0xef) {
      const b1 = src[i + 1];
      if (i + 2 >= end || (b1 & 0xc0) !== 0x80 || (src[i + 2] & 0xc0) !== 0x80) return false;
      if ((b === 0xe0 && b1 < 0xa0) || (b === 0xed && b1 >= 0xa0)) return false;
      i += 3;
    } else if (b >= 0xf0 && b <= 0xf4) {
      const b1 = src[i + 1];
      if (i + 3 >= end || (b1 & 0xc0) !== 0x80 || (src[i + 2] & 0xc0) !== 0x80 || (src[i + 3] & 0xc0) !== 0x80) {
        return false;
      }
      if ((b === 0xf0 && b1 < 0x90) || (b === 0xf4 && b1 >= 0x90)) return false;
      i += 4;
    } else {
      return false;
    }
  }
  return true;
}

// Each field of the messages being moved takes REC slots of one shared stack, so a message costs
// no allocation: its rank (number, or UNKNOWN), where its record starts, where its value (or
// content) starts, where it ends, and for a Struct entry where its key starts and ends and where
// its Value's content starts.
const REC = 7;
const UNKNOWN = 0x7fffffff;
let stack = new Int32Array(REC * 1024);
let top = 0;

/**
 * Checks the message in `src[start..end)` and writes its canonical form to `out` at `at`; returns
 * where it ends there, or -1 when it must be decoded instead.
 */
function permute(
  plan: MessagePlan,
  reader: WireReader,
  start: number,
  end: number,
  out: Uint8Array,
  at: number,
  omit: readonly number[],
  depth: number,
): number {
  if (depth > MAX_DEPTH || !plan.usable) return -1;
  const src = reader.buf;
  const base = top;
  let sorted = true;
  let previousRank = -1;
  reader.at(start, end);
  while (reader.pos < end) {
    const fieldStart = reader.pos;
    const tag = reader.tag();
    if (tag < 0) return -1;
    const no = tag >>> 3;
    const wireType = tag & 7;
    if (no === 0) return -1;
    const contentStart = reader.skip(wireType);
    if (contentStart < 0) return -1;
    const pos = reader.pos;
    const field = plan.fields[no];
    if (field === undefined) {
      if (plan.closed) return -1;
    } else {
      if (wireType !== field.wireType) return -1;
      if (field.check !== undefined && !field.check(src, contentStart, pos)) return -1;
    }
    if (omit.length !== 0 && omit.includes(no)) continue;
    // Known fields by number, unknown fields last in arrival order.
    const rank = field === undefined ? UNKNOWN : no;
    if (rank < previousRank) sorted = false;
    previousRank = rank;
    push(rank, fieldStart, contentStart, pos, -1, -1, -1);
  }
  const count = (top - base) / REC;
  const sortedAt = sorted ? -1 : sortRecords(src, base, count);
  let oneofs = 0;
  let previous = -1;
  for (let i = 0; i < count && at >= 0; i++) {
    const rec = sortedAt < 0 ? base + REC * i : orders[sortedAt + i];
    const rank = stack[rec];
    const fieldStart = stack[rec + 1];
    const fieldEnd = stack[rec + 3];
    const field = rank === UNKNOWN ? undefined : plan.fields[rank];
    if (field !== undefined) {
      if (previous >= 0 && stack[previous] === rank && !field.repeated) return release(base, sortedAt, -1);
      if (field.oneofBit !== 0) {
        if ((oneofs & field.oneofBit) !== 0) return release(base, sortedAt, -1);
        oneofs |= field.oneofBit;
      }
    }
    previous = rec;
    if (field?.message === undefined) {
      at = write(src, out, fieldStart, fieldEnd, at);
    } else {
      // The record's tag and length, then the message it holds moved into place.
      const content = stack[rec + 2];
      at = move(field.message, reader, content, fieldEnd, out, write(src, out, fieldStart, content, at), depth + 1);
    }
  }
  return release(base, sortedAt, at);
}

/** Checks and writes a message held in a field, as permute does. */
function move(
  plan: MessagePlan,
  reader: WireReader,
  start: number,
  end: number,
  out: Uint8Array,
  at: number,
  depth: number,
): number {
  switch (plan.json) {
    case "struct":
      return moveStruct(reader, start, end, out, at, depth);
    case "value":
      return moveValue(reader, start, end, out, at, depth);
    case "list":
      return moveList(reader, start, end, out, at, depth);
    default:
      return permute(plan, reader, start, end, out, at, NONE, depth);
  }
}

// Struct, Value and ListValue make up most of a model call's bytes, so they are read here
// rather than field by field: protobuf-es holds them as JSON, which keeps no unknown fields, so
// only their own fields are accepted.

/** google.protobuf.Struct: map entries (1), each its key then its Value, sorted by key. */
function moveStruct(
  reader: WireReader,
  start: number,
  end: number,
  out: Uint8Array,
  at: number,
  depth: number,
): number {
  if (depth > MAX_DEPTH) return -1;
  const src = reader.buf;
  const base = top;
  let sorted = true;
  for (let pos = start; pos < end; ) {
    const fieldStart = pos;
    if (src[pos] !== 0x0a) return release(base, -1, -1);
    const content = reader.at(pos + 1, end).skip(LEN);
    pos = reader.pos;
    if (content < 0 || !readEntry(reader, content, pos)) return release(base, -1, -1);
    if (
      top > base &&
      compareUtf8Bytes(src, stack[top - REC + 4], stack[top - REC + 5], entryKeyStart, entryKeyEnd) > 0
    ) {
      sorted = false;
    }
    push(1, fieldStart, entryKeyStart, pos, entryKeyStart, entryKeyEnd, entryValueStart);
  }
  const count = (top - base) / REC;
  const sortedAt = sorted ? -1 : sortRecords(src, base, count);
  for (let i = 0; i < count && at >= 0; i++) {
    const rec = sortedAt < 0 ? base + REC * i : orders[sortedAt + i];
    if (i > 0) {
      // A repeated key: decoding keeps the last value, in the first one's place.
      const before = sortedAt < 0 ? rec - REC : orders[sortedAt + i - 1];
      if (compareUtf8Bytes(src, stack[before + 4], stack[before + 5], stack[rec + 4], stack[rec + 5]) === 0) {
        return release(base, sortedAt, -1);
      }
    }
    const valueStart = stack[rec + 6];
    at = moveValue(reader, valueStart, stack[rec + 3], out, write(src, out, stack[rec + 1], valueStart, at), depth + 1);
  }
  return release(base, sortedAt, at);
}

/** A finite double: its exponent not all ones (NaN, ±Infinity). */
function isFiniteNumber(src: Buffer, start: number): boolean {
  return (src.readUInt32LE(start + 4) & 0x7ff00000) !== 0x7ff00000;
}

/** google.protobuf.Value: exactly one kind, null_value 0, a finite number, a string of UTF-8. */
function moveValue(reader: WireReader, start: number, end: number, out: Uint8Array, at: number, depth: number): number {
  const src = reader.buf;
  const tag = src[start];
  const size = end - start;
  switch (tag) {
    case 0x08: // null_value
      return size === 2 && src[start + 1] === 0 ? write(src, out, start, end, at) : -1;
    case 0x11: // number_value
      return size === 9 && isFiniteNumber(src, start + 1) ? write(src, out, start, end, at) : -1;
    case 0x20: // bool_value
      return size === 2 && src[start + 1] <= 1 ? write(src, out, start, end, at) : -1;
  }
  if (size < 2) return -1;
  const content = reader.at(start + 1, end).skip(LEN);
  if (content < 0 || reader.pos !== end) return -1;
  switch (tag) {
    case 0x1a: // string_value
      return isUtf8(src, content, end) ? write(src, out, start, end, at) : -1;
    case 0x2a: // struct_value
      return moveStruct(reader, content, end, out, write(src, out, start, content, at), depth + 1);
    case 0x32: // list_value
      return moveList(reader, content, end, out, write(src, out, start, content, at), depth + 1);
    default:
      return -1;
  }
}

/** google.protobuf.ListValue: Values (1), in order. */
function moveList(reader: WireReader, start: number, end: number, out: Uint8Array, at: number, depth: number): number {
  if (depth > MAX_DEPTH) return -1;
  const src = reader.buf;
  for (let pos = start; pos < end && at >= 0; ) {
    if (src[pos] !== 0x0a) return -1;
    const content = reader.at(pos + 1, end).skip(LEN);
    if (content < 0) return -1;
    const valueEnd = reader.pos;
    at = moveValue(reader, content, valueEnd, out, write(src, out, pos, content, at), depth + 1);
    pos = valueEnd;
  }
  return at;
}

/** Frees the message's records (and their order) from the stacks, returning `at`. */
function release(base: number, sortedAt: number, at: number): number {
  top = base;
  if (sortedAt >= 0) ordersTop = sortedAt;
  return at;
}

const NONE: readonly number[] = [];

/** Adds a field's record to the stack. */
function push(rank: number, start: number, content: number, end: number, key: number, keyEnd: number, value: number) {
  if (top + REC > stack.length) {
    const grown = new Int32Array(stack.length * 2);
    grown.set(stack);
    stack = grown;
  }
  stack[top] = rank;
  stack[top + 1] = start;
  stack[top + 2] = content;
  stack[top + 3] = end;
  stack[top + 4] = key;
  stack[top + 5] = keyEnd;
  stack[top + 6] = value;
  top += REC;
}

// Writes are in output order; bytes that follow each other in the input too are copied at once.
const run = { from: 0, to: 0, at: 0, length: 0 };

/** Copies `src[from..to)` to `out` at `at` (once the run it extends ends); returns the end there. */
function write(src: Buffer, out: Uint8Array, from: number, to: number, at: number): number {
  if (run.length > 0 && run.to === from && run.at + run.length === at) {
    run.to = to;
    run.length += to - from;
  } else {
    flush(src, out);
    run.from = from;
    run.to = to;
    run.at = at;
    run.length = to - from;
  }
  return at + (to - from);
}

function flush(src: Buffer, out: Uint8Array): void {
  if (run.length === 0) return;
  if (run.length < 64) {
    for (let i = 0; i < run.length; i++) out[run.at + i] = src[run.from + i];
  } else {
    src.copy(out, run.at, run.from, run.to);
  }
  run.length = 0;
}

// Record positions in canonical order, for messages that arrive out of it: a stack too, since a
// message's order is still being read while the messages inside it are sorted.
let orders = new Int32Array(1024);
let ordersTop = 0;

/**
 * The records' stack positions in canonical order (by rank, map entries by key, otherwise as they
 * came), from the returned index of `orders`.
 */
function sortRecords(src: Buffer, base: number, count: number): number {
  const from = ordersTop;
  if (orders.length < from + count) {
    const grown = new Int32Array(2 * (from + count));
    grown.set(orders);
    orders = grown;
  }
  ordersTop += count;
  if (count > INSERTION_SORT_MAX) {
    // A body may hold a Struct of hundreds of thousands of keys: O(n log n), and stable too.
    const sorted = Array.from({ length: count }, (_, i) => base + REC * i).sort((a, b) =>
      precedes(src, a, b) ? -1 : precedes(src, b, a) ? 1 : 0,
    );
    orders.set(sorted, from);
    return from;
  }
  // Insertion sort, stable: messages have tens of fields, Structs tens of keys.
  for (let i = 0; i < count; i++) {
    const rec = base + REC * i;
    let j = from + i;
    while (j > from && precedes(src, rec, orders[j - 1])) {
      orders[j] = orders[j - 1];
      j--;
    }
    orders[j] = rec;
  }
  return from;
}

const INSERTION_SORT_MAX = 32;

function precedes(src: Buffer, a: number, b: number): boolean {
  if (stack[a] !== stack[b]) return stack[a] < stack[b];
  if (stack[a + 4] < 0) return false;
  return compareUtf8Bytes(src, stack[a + 4], stack[a + 5], stack[b + 4], stack[b + 5]) < 0;
}

// readEntry leaves the key's span and where the value's content starts here.
let entryKeyStart = -1;
let entryKeyEnd = -1;
let entryValueStart = -1;

/** A map entry as encoders write it: the key (1, valid UTF-8) then the value (2), nothing else. */
function readEntry(reader: WireReader, start: number, end: number): boolean {
  const src = reader.buf;
  if (src[start] !== 0x0a) return false;
  entryKeyStart = reader.at(start + 1, end).skip(LEN);
  entryKeyEnd = reader.pos;
  if (entryKeyStart < 0 || entryKeyEnd >= end || !isUtf8(src, entryKeyStart, entryKeyEnd)) return false;
  if (src[entryKeyEnd] !== 0x12) return false;
  entryValueStart = reader.at(entryKeyEnd + 1, end).skip(LEN);
  return entryValueStart >= 0 && reader.pos === end;
}
