import {
  type DescField,
  type DescMessage,
  fromBinary,
  type JsonObject,
  type JsonValue,
  ScalarType,
} from "@bufbuild/protobuf";
import { AnySchema } from "@bufbuild/protobuf/wkt";
import { CostDetailsSchema, type Event, EventSchema } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import { canonicalFromWire } from "../codec/canonical-wire.ts";
import { INDEXED_ENUMS, OPTIONAL_IDS, REQUIRED_IDS } from "../codec/event-fields.ts";
import { USAGE_FIELDS, type UsageSource } from "../codec/event-usage.ts";
import { jsonUnwritableViolations } from "../codec/json-unwritable.ts";
import { SEARCHED_FIELDS, type Searchable } from "../codec/search-text.ts";
import { WireReader } from "../codec/wire-reader.ts";
import type { IngestFields } from "./event-rules.ts";

/**
 * An event read from its protobuf bytes without decoding it into messages: the fields ingest
 * checks and indexes, and its canonical encoding. Reading these few fields and moving the bytes
 * costs a fraction of a full decode and of the objects it leaves for the garbage collector.
 */
export interface WireEvent {
  fields: IngestFields & Searchable & UsageSource & Pick<Event, "agentId" | "traceId" | "spanId">;
  /** The canonical encoding with the integrity fields empty (event-record.ts). */
  payload: Uint8Array;
}

const INTEGRITY_FIELDS = [
  EventSchema.field.hashPrev.number,
  EventSchema.field.contentHash.number,
  EventSchema.field.wormProofId.number,
];

/**
 * The event of an IngestEventRequest read as its wire twin (`repeated bytes event = 1`): absent,
 * or its bytes. A message field sent more than once is merged by protobuf, and the occurrences'
 * bytes joined decode as that merge.
 */
export function requestEventBytes(occurrences: readonly Uint8Array[]): Uint8Array | undefined {
  return occurrences.length <= 1 ? occurrences[0] : Buffer.concat(occurrences);
}

/**
 * The event in `bytes`, or undefined when it must be decoded instead: bytes that only a full
 * decode can settle (canonical-wire.ts), what proto3 JSON cannot write (json-unwritable.ts: a
 * Value number that is not finite, in the event or packed in an extension, or an extension it
 * cannot unpack), for the decoded event's checks to name (event-rules.ts), or an empty
 * tenant_id or project_id, which the caller's key may fill in (access.ts), changing the event.
 */
export function readWireEvent(bytes: Uint8Array): WireEvent | undefined {
  const reader = new WireReader(bytes);
  const payload = canonicalFromWire(EventSchema, reader.buf, INTEGRITY_FIELDS);
  if (payload === undefined) return undefined;
  // The bytes are now known to be well formed: each singular field once, strings valid UTF-8.
  // EVENT_FIELDS reads every field of WireEvent["fields"], each set to its default if absent.
  const fields = readFields(reader, 0, reader.end, EVENT_FIELDS) as unknown as WireEvent["fields"] &
    Pick<Event, "extensions">;
  if (fields.tenantId === "" || fields.projectId === "") return undefined;
  if (fields.extensions.some((any) => jsonUnwritableViolations(AnySchema, any, "").length > 0)) return undefined;
  return { fields, payload };
}

/** The fields to read of one message type, by number: how to read each, and its default. */
type FieldReaders = Map<number, { name: string; read: Reader; initial: () => unknown; repeated: boolean }>;
/** Reads a value from its bytes `start..end` (for length-delimited values: its content). */
type Reader = (reader: WireReader, start: number, end: number) => unknown;

/** Event fields read from the wire: what IngestFields, Searchable, UsageSource and the record hold. */
const EVENT_FIELDS = readersFor(EventSchema, [
  ...REQUIRED_IDS,
  ...OPTIONAL_IDS,
  ...INDEXED_ENUMS,
  "agentName",
  "contentHash",
  "tags",
  "author",
  "timestamp",
]);

// The content oneof: each case's SEARCHED_FIELDS (and USAGE_FIELDS), read into `content` as { case, value }.
for (const field of EventSchema.oneofs.find((o) => o.localName === "content")?.fields ?? []) {
  const kind = field.localName as keyof typeof SEARCHED_FIELDS;
  const names = kind === "llmInvocation" ? [...SEARCHED_FIELDS[kind], ...USAGE_FIELDS[kind]] : SEARCHED_FIELDS[kind];
  const readers = names.length === 0 ? undefined : readersFor(field.message as DescMessage, names);
  EVENT_FIELDS.set(field.number, {
    name: "content",
    read: (reader, start, end) => ({
      case: kind,
      value: readers === undefined ? readStruct(reader, start, end) : readFields(reader, start, end, readers),
    }),
    initial: () => ({ case: undefined }),
    repeated: false,
  });
}

// The cost figures of USAGE_FIELDS.
const COST_FIELDS = readersFor(CostDetailsSchema, USAGE_FIELDS.cost);
EVENT_FIELDS.set(EventSchema.field.cost.number, {
  name: "cost",
  read: (src, start, end) => readFields(src, start, end, COST_FIELDS),
  initial: () => undefined,
  repeated: false,
});

// Extensions, decoded: an Any may pack a Value (readWireEvent).
EVENT_FIELDS.set(EventSchema.field.extensions.number, {
  name: "extensions",
  read: (reader, start, end) => fromBinary(AnySchema, reader.buf.subarray(start, end)),
  initial: () => [],
  repeated: true,
});

function readersFor(desc: DescMessage, names: readonly string[]): FieldReaders {
  const readers: FieldReaders = new Map();
  for (const name of names) {
    const field = desc.fields.find((f) => f.localName === name);
    if (field === undefined) throw new Error(`${desc.typeName} has no field ${name}`);
    readers.set(field.number, { name, ...readerOf(field) });
  }
  return readers;
}

function readerOf(field: DescField): { read: Reader; initial: () => unknown; repeated: boolean } {
  if (field.fieldKind === "list" && field.listKind === "scalar")
    return { read: readString, initial: () => [], repeated: true };
  if (field.fieldKind === "scalar" && field.scalar === ScalarType.INT32) {
    return { read: readInt32, initial: () => 0, repeated: false };
  }
  if (field.fieldKind === "scalar" && field.scalar === ScalarType.DOUBLE) {
    return { read: (reader, start) => reader.buf.readDoubleLE(start), initial: () => 0, repeated: false };
  }
  if (field.fieldKind === "scalar") return { read: readString, initial: () => "", repeated: false };
  if (field.fieldKind === "enum") return { read: readUint32, initial: () => 0, repeated: false };
  if (field.fieldKind === "message" && field.message.typeName === "google.protobuf.Struct") {
    return { read: readStruct, initial: () => undefined, repeated: false };
  }
  if (field.fieldKind === "message" && field.message.typeName === "google.protobuf.Timestamp") {
    return { read: readTimestamp, initial: () => undefined, repeated: false };
  }
  throw new Error(`${field} is not read from the wire`);
}

/** The named fields of the message in `src[start..end)`, others skipped; a repeated field's last value wins. */
function readFields(reader: WireReader, start: number, end: number, readers: FieldReaders): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const { name, initial } of readers.values()) fields[name] = initial();
  forEachField(reader, start, end, (no, valueStart, valueEnd) => {
    const field = readers.get(no);
    if (field === undefined) return;
    const value = field.read(reader, valueStart, valueEnd);
    if (field.repeated) (fields[field.name] as unknown[]).push(value);
    else fields[field.name] = value;
  });
  return fields;
}

/**
 * Calls `visit` with each field's number and value: for length-delimited fields their content,
 * otherwise their bytes. The bytes were checked by canonicalFromWire, so nothing is checked here.
 * `visit` may move the reader: the walk keeps its place in `pos`.
 */
function forEachField(
  reader: WireReader,
  start: number,
  end: number,
  visit: (no: number, start: number, end: number) => void,
): void {
  for (let pos = start; pos < end; ) {
    const tag = reader.at(pos, end).tag();
    const valueStart = reader.skip(tag & 7);
    pos = reader.pos;
    visit(tag >>> 3, valueStart, pos);
  }
}

function readString(reader: WireReader, start: number, end: number): string {
  return reader.buf.toString("utf8", start, end);
}

function readUint32(reader: WireReader, start: number, end: number): number {
  return reader.at(start, end).varint();
}

/** An int32: negative ones are ten-byte varints, read as int64 and truncated as protobuf does. */
function readInt32(reader: WireReader, start: number, end: number): number {
  const value = reader.at(start, end).varint();
  return value >= 0 && value <= 0x7fffffff ? value : Number(BigInt.asIntN(32, reader.at(start, end).int64()));
}

function readTimestamp(reader: WireReader, start: number, end: number): { seconds: bigint; nanos: number } {
  const timestamp = { seconds: 0n, nanos: 0 };
  forEachField(reader, start, end, (no, valueStart, valueEnd) => {
    if (no === 1) timestamp.seconds = reader.at(valueStart, valueEnd).int64();
    else if (no === 2) timestamp.nanos = reader.at(valueStart, valueEnd).varint();
  });
  return timestamp;
}

/** A google.protobuf.Struct as protobuf-es holds it: a JsonObject, keys set in arrival order. */
function readStruct(reader: WireReader, start: number, end: number): JsonObject {
  const object: JsonObject = {};
  forEachField(reader, start, end, (_, entryStart, entryEnd) => {
    let key = "";
    let value: JsonValue = null;
    forEachField(reader, entryStart, entryEnd, (no, valueStart, valueEnd) => {
      if (no === 1) key = readString(reader, valueStart, valueEnd);
      else value = readValue(reader, valueStart, valueEnd);
    });
    // As protobuf-es sets it: assigning "__proto__" would set the prototype instead.
    if (key === "__proto__")
      Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true });
    else object[key] = value;
  });
  return object;
}

/** google.protobuf.Value: its one kind, as a JsonValue. */
function readValue(reader: WireReader, start: number, end: number): JsonValue {
  let value: JsonValue = null;
  forEachField(reader, start, end, (no, valueStart, valueEnd) => {
    switch (no) {
      case 2:
        value = reader.buf.readDoubleLE(valueStart);
        break;
      case 3:
        value = readString(reader, valueStart, valueEnd);
        break;
      case 4:
        value = reader.buf[valueStart] === 1;
        break;
      case 5:
        value = readStruct(reader, valueStart, valueEnd);
        break;
      case 6: {
        const list: JsonValue[] = [];
        forEachField(reader, valueStart, valueEnd, (_, itemStart, itemEnd) => {
          list.push(readValue(reader, itemStart, itemEnd));
        });
        value = list;
        break;
      }
    }
  });
  return value;
}
