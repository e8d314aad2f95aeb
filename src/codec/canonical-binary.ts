/**
 * The canonical encoding (canonical-rules.ts) of a message object.
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
import { compareUtf8, wireTypeOf } from "./canonical-rules.ts";

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
