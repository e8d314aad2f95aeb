/**
 * Canonical protobuf binary encoding, for content hashes that third parties recompute in any
 * language. For messages without extensions it is byte for byte the output of Go's
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
 *
 * protobuf-es `toBinary` already follows rules 1-3, 5 and 6, but writes map entries in JavaScript
 * property order, which puts integer-like keys ("2", "10") first in numeric order. So a message
 * type that cannot contain a map goes to `toBinary`; any other is encoded here, with the same
 * output as `toBinary` except for the order of map entries. Extensions are not interpreted:
 * protobuf-es keeps them as unknown fields, so they follow rule 5 (Go writes extensions before
 * the known fields).
 */
import {
  type DescField,
  type DescMessage,
  type JsonObject,
  type JsonValue,
  type Message,
  type MessageShape,
  protoInt64,
  ScalarType,
  toBinary,
} from "@bufbuild/protobuf";
import { type ReflectMessage, reflect, reflectList, reflectMap } from "@bufbuild/protobuf/reflect";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { FeatureSet_FieldPresence, isWrapperDesc } from "@bufbuild/protobuf/wkt";

/** The canonical (deterministic, map-sorted) protobuf binary of `message`. */
export function canonicalBinary<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): Uint8Array {
  if (!reachesMap(schema)) return toBinary(schema, message);
  try {
    bodyWriter(schema)(sharedWriter, message);
  } catch (err) {
    sharedWriter = new BinaryWriter(); // drops the open forks
    throw err;
  }
  const bytes = sharedWriter.finish();
  if (bytes.byteLength > KEPT_WRITER_BYTES) sharedWriter = new BinaryWriter();
  return bytes;
}

// One writer for every call (encoding is synchronous), whose buffer stays at the size needed so
// far, up to KEPT_WRITER_BYTES. A new writer per event regrew its buffer from 128 bytes,
// zero-filling and copying each time: a fifth of the encoding time. finish() returns a copy.
const KEPT_WRITER_BYTES = 1 << 20;
let sharedWriter = new BinaryWriter();

// Like protobuf-es's own toBinary, each message type gets its encoder compiled once, so the
// per-event work is plain property reads: walking with the reflection API allocates per message
// and took twice as long as toBinary. Messages are read in their local (generated) representation.
// biome-ignore lint/suspicious/noExplicitAny: fields are read by their descriptor's local name.
type Local = any;
type Encode = (writer: BinaryWriter, message: Local) => void;

/** Per message type: can a map field occur anywhere inside it? */
const mapReach = new WeakMap<DescMessage, boolean>();

function reachesMap(desc: DescMessage): boolean {
  let reaches = mapReach.get(desc);
  if (reaches === undefined) {
    reaches = false;
    // Depth-first over the message types reachable from `desc`; types refer to each other in cycles.
    const seen = new Set<DescMessage>();
    const todo = [desc];
    search: while (todo.length > 0) {
      const next = todo.pop() as DescMessage;
      if (seen.has(next)) continue;
      seen.add(next);
      for (const field of next.fields) {
        if (field.fieldKind === "map") {
          reaches = true;
          break search;
        }
        if (field.message !== undefined) todo.push(field.message);
      }
    }
    mapReach.set(desc, reaches);
  }
  return reaches;
}

/** Per message type: writes the message's fields and unknown fields (without tag or length). */
const bodyWriters = new WeakMap<DescMessage, Encode>();

// Sub-messages without maps are encoded here too rather than by toBinary: a toBinary call per
// sub-message (a writer, a buffer and a copy each) made small events twice as slow as toBinary.
function bodyWriter(desc: DescMessage): Encode {
  let body = bodyWriters.get(desc);
  if (body !== undefined) return body;
  const fields: Encode[] = [];
  body = (writer, message: Message) => {
    if (message.$typeName !== desc.typeName) {
      throw new Error(`cannot encode ${message.$typeName} as ${desc.typeName}`);
    }
    for (const field of fields) field(writer, message);
    const unknown = message.$unknown;
    if (unknown !== undefined) {
      for (const { no, wireType, data } of unknown) writer.tag(no, wireType).raw(data);
    }
  };
  // Registered before its fields are compiled, so recursive types (Struct, Value) find it.
  bodyWriters.set(desc, body);
  for (const field of [...desc.fields].sort((a, b) => a.number - b.number)) fields.push(fieldWriter(field));
  return body;
}

function fieldWriter(field: DescField): Encode {
  const name = field.localName;
  const no = field.number;
  switch (field.fieldKind) {
    case "scalar":
    case "enum": {
      const type = field.fieldKind === "enum" ? ScalarType.INT32 : field.scalar;
      const wireType = wireTypeOf(type);
      const write = valueWriter(type);
      const read = singularReader(field);
      return (writer, message) => {
        const value = read(message);
        if (value !== undefined) write(writer.tag(no, wireType), value);
      };
    }
    case "message": {
      const write = messageWriter(field, no);
      const read = singularReader(field);
      if (writesLocalValue(field)) {
        return (writer, message) => {
          const value = read(message);
          if (value !== undefined) write(writer, value);
        };
      }
      return (writer, message) => {
        if (read(message) !== undefined) {
          write(writer, (reflect(field.parent, message, false).get(field) as ReflectMessage).message);
        }
      };
    }
    case "list": {
      if (field.listKind === "message") {
        const write = messageWriter(field, no);
        const asMessage = writesLocalValue(field);
        return (writer, message) => {
          const items: Local[] = message[name];
          for (let i = 0; i < items.length; i++) {
            write(writer, asMessage ? items[i] : (reflectList(field, items, false).get(i) as ReflectMessage).message);
          }
        };
      }
      const type = field.listKind === "enum" ? ScalarType.INT32 : field.scalar;
      const write = valueWriter(type);
      if (field.packed) {
        return (writer, message) => {
          const items: Local[] = message[name];
          if (items.length === 0) return;
          writer.tag(no, WireType.LengthDelimited).fork();
          for (let i = 0; i < items.length; i++) write(writer, items[i]);
          writer.join();
        };
      }
      const wireType = wireTypeOf(type);
      return (writer, message) => {
        const items: Local[] = message[name];
        for (let i = 0; i < items.length; i++) write(writer.tag(no, wireType), items[i]);
      };
    }
    case "map":
      return mapWriter(field);
  }
}

function mapWriter(field: DescField & { fieldKind: "map" }): Encode {
  const name = field.localName;
  const no = field.number;
  const keyType = field.mapKey;
  const keyWireType = wireTypeOf(keyType);
  const writeKey = valueWriter(keyType);
  let writeValue: (writer: BinaryWriter, value: Local, record: Local, key: string) => void;
  if (field.mapKind === "message") {
    const write = messageWriter(field, 2);
    writeValue = writesLocalValue(field)
      ? (writer, value) => write(writer, value)
      : (writer, _, record, key) =>
          write(writer, (reflectMap(field, record, false).get(key) as ReflectMessage).message);
  } else {
    const type = field.mapKind === "enum" ? ScalarType.INT32 : field.scalar;
    const wireType = wireTypeOf(type);
    const write = valueWriter(type);
    writeValue = (writer, value) => write(writer.tag(2, wireType), value);
  }
  const writeEntry = (writer: BinaryWriter, record: Local, objectKey: string, key: Local) => {
    writer.tag(no, WireType.LengthDelimited).fork();
    writeKey(writer.tag(1, keyWireType), key);
    writeValue(writer, record[objectKey], record, objectKey);
    writer.join();
  };
  if (keyType === ScalarType.STRING) {
    return (writer, message) => {
      const record: Local = message[name];
      const keys = Object.keys(record);
      if (keys.length > 1) keys.sort(compareUtf8);
      for (const key of keys) writeEntry(writer, record, key, key);
    };
  }
  // Object keys are strings: sort and write them as the key type's values.
  const parse = mapKeyParser(keyType);
  return (writer, message) => {
    const record: Local = message[name];
    const entries = Object.keys(record).map((objectKey) => ({ objectKey, key: parse(objectKey) }));
    // Numbers, bigints (64-bit) and booleans all order by `<`, and false < true.
    entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    for (const { objectKey, key } of entries) writeEntry(writer, record, objectKey, key);
  };
}

/**
 * Writes a message value with its tag, as a length-delimited record or a group; a Struct held as
 * a JsonObject straight from its JSON.
 */
function messageWriter(field: DescField & { message: DescMessage }, no: number): Encode {
  if (heldAsJsonObject(field)) return jsonStructWriter(no);
  const body = bodyWriter(field.message);
  if (field.delimitedEncoding) {
    return (writer, message) => {
      writer.tag(no, WireType.StartGroup);
      body(writer, message);
      writer.tag(no, WireType.EndGroup);
    };
  }
  return (writer, message) => {
    writer.tag(no, WireType.LengthDelimited).fork();
    body(writer, message);
    writer.join();
  };
}

/**
 * protobuf-es holds some message values in a JSON-like local form: google.protobuf.Struct as a
 * JsonObject (except inside google.protobuf.Value), and wrapper messages in singular non-oneof
 * fields as the bare scalar. Those go through reflection, which rebuilds the message.
 */
function storedAsMessage(field: DescField & { message: DescMessage }): boolean {
  if (field.message.typeName === "google.protobuf.Struct") return field.parent.typeName === "google.protobuf.Value";
  return !(field.fieldKind === "message" && field.oneof === undefined && isWrapperDesc(field.message));
}

/**
 * Whether messageWriter takes the field's local value as it is: a message, or a Struct held as a
 * JsonObject. Other values (wrappers held as their scalar) are rebuilt through reflection.
 */
function writesLocalValue(field: DescField & { message: DescMessage }): boolean {
  return storedAsMessage(field) || heldAsJsonObject(field);
}

/** A google.protobuf.Struct held as a JsonObject, in a length-delimited field. */
function heldAsJsonObject(field: DescField & { message: DescMessage }): boolean {
  return field.message.typeName === "google.protobuf.Struct" && !storedAsMessage(field) && !field.delimitedEncoding;
}

/**
 * Writes a Struct held as a JsonObject, with its tag, straight from the JSON: building the Struct
 * and Value messages through reflection first allocated several objects per JSON value, and
 * model-call events are mostly Structs.
 */
function jsonStructWriter(no: number): (writer: BinaryWriter, object: JsonObject) => void {
  return (writer, object) => {
    writer.tag(no, WireType.LengthDelimited).fork();
    writeStructFields(writer, object);
    writer.join();
  };
}

/** Struct.fields (1): one map entry per key, sorted, each with its key (1) and Value (2). */
function writeStructFields(writer: BinaryWriter, object: JsonObject): void {
  const keys = Object.keys(object);
  if (keys.length > 1) keys.sort(compareUtf8);
  for (const key of keys) {
    writer.tag(1, WireType.LengthDelimited).fork();
    writer.tag(1, WireType.LengthDelimited).string(key);
    writer.tag(2, WireType.LengthDelimited).fork();
    writeValueKind(writer, object[key] as JsonValue);
    writer.join();
    writer.join();
  }
}

/**
 * google.protobuf.Value's oneof kind: null_value (1) as enum 0, number_value (2), string_value (3),
 * bool_value (4), struct_value (5), list_value (6) whose ListValue holds Values as field 1.
 */
function writeValueKind(writer: BinaryWriter, value: JsonValue): void {
  switch (typeof value) {
    case "number":
      writer.tag(2, WireType.Bit64).double(value);
      return;
    case "string":
      writer.tag(3, WireType.LengthDelimited).string(value);
      return;
    case "boolean":
      writer.tag(4, WireType.Varint).bool(value);
      return;
  }
  if (value === null) {
    writer.tag(1, WireType.Varint).int32(0);
  } else if (Array.isArray(value)) {
    writer.tag(6, WireType.LengthDelimited).fork();
    for (const item of value) {
      writer.tag(1, WireType.LengthDelimited).fork();
      writeValueKind(writer, item);
      writer.join();
    }
    writer.join();
  } else {
    writer.tag(5, WireType.LengthDelimited).fork();
    writeStructFields(writer, value);
    writer.join();
  }
}

/** Reads a singular field: its value, or undefined when it is not to be written. */
function singularReader(field: DescField & { fieldKind: "scalar" | "enum" | "message" }): (message: Local) => Local {
  const name = field.localName;
  const required = field.presence === FeatureSet_FieldPresence.LEGACY_REQUIRED;
  if (field.oneof !== undefined) {
    const oneof = field.oneof.localName;
    return (message) => (message[oneof].case === name ? message[oneof].value : undefined);
  }
  if (field.fieldKind === "message" || field.presence !== FeatureSet_FieldPresence.IMPLICIT) {
    // Explicit presence: set when it is an own property (proto2 defaults live on the prototype).
    return (message) => {
      if (Object.hasOwn(message, name) && message[name] !== undefined) return message[name];
      if (required) throw new Error(`cannot encode ${field} to binary: required field not set`);
      return undefined;
    };
  }
  // Implicit presence: omitted when zero.
  const isZero = zeroCheck(field.fieldKind === "enum" ? ScalarType.INT32 : field.scalar);
  return (message) => (isZero(message[name]) ? undefined : message[name]);
}

function zeroCheck(type: ScalarType): (value: Local) => boolean {
  switch (type) {
    case ScalarType.STRING:
      return (value) => value === "";
    case ScalarType.BOOL:
      return (value) => value === false;
    case ScalarType.BYTES:
      return (value) => value instanceof Uint8Array && value.byteLength === 0;
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      // -0 is not zero: it is written (as Go and upb do, comparing bits).
      return (value) => Object.is(value, 0);
    default:
      // Integers and enums; 64-bit values are bigints, or strings with jstype = JS_STRING.
      return (value) => value === 0 || value === 0n || value === "0";
  }
}

/** Object key (always a string) to the map key's protobuf value; invalid keys fail in the writer. */
function mapKeyParser(type: ScalarType): (key: string) => Local {
  switch (type) {
    case ScalarType.BOOL:
      return (key) => (key === "true" ? true : key === "false" ? false : key);
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return (key) => attempt(() => protoInt64.parse(key), key);
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return (key) => attempt(() => protoInt64.uParse(key), key);
    default:
      return (key) => {
        const n = Number.parseInt(key, 10);
        return Number.isFinite(n) ? n : key;
      };
  }
}

function attempt<T>(parse: () => T, fallback: string): T | string {
  try {
    return parse();
  } catch {
    return fallback;
  }
}

/**
 * Orders strings as their UTF-8 encodings compare bytewise, i.e. by code point. UTF-16 code
 * units compare the same way except around surrogates, handled by compareCodePoints.
 */
function compareUtf8(a: string, b: string): number {
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

function wireTypeOf(type: ScalarType): WireType {
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

/** Writes a scalar value without its tag; the BinaryWriter rejects out-of-range values. */
function valueWriter(type: ScalarType): (writer: BinaryWriter, value: Local) => void {
  switch (type) {
    case ScalarType.STRING:
      return (writer, value) => writer.string(value);
    case ScalarType.BYTES:
      return (writer, value) => writer.bytes(value);
    case ScalarType.BOOL:
      return (writer, value) => writer.bool(value);
    case ScalarType.DOUBLE:
      return (writer, value) => writer.double(value);
    case ScalarType.FLOAT:
      return (writer, value) => writer.float(value);
    case ScalarType.INT32:
      return (writer, value) => writer.int32(value);
    case ScalarType.UINT32:
      return (writer, value) => writer.uint32(value);
    case ScalarType.SINT32:
      return (writer, value) => writer.sint32(value);
    case ScalarType.FIXED32:
      return (writer, value) => writer.fixed32(value);
    case ScalarType.SFIXED32:
      return (writer, value) => writer.sfixed32(value);
    case ScalarType.INT64:
      return (writer, value) => writer.int64(value);
    case ScalarType.UINT64:
      return (writer, value) => writer.uint64(value);
    case ScalarType.SINT64:
      return (writer, value) => writer.sint64(value);
    case ScalarType.FIXED64:
      return (writer, value) => writer.fixed64(value);
    case ScalarType.SFIXED64:
      return (writer, value) => writer.sfixed64(value);
  }
}
