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
import { USAGE_FIELDS, type UsageSource } from "../codec/event-usage.ts";
import { jsonUnwritableViolations } from "../codec/json-unwritable.ts";
import { SEARCHED_FIELDS, type Searchable } from "../codec/search-text.ts";
import { LEN, lengthEnd, readVarint, skipValue, varintEnd } from "../codec/wire-scan.ts";
import { asBuffer } from "../lib/bytes.ts";
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
 * The event in `bytes`, or undefined when it must be decoded instead: bytes that only a full
 * decode can settle (canonical-wire.ts), what proto3 JSON cannot write (json-unwritable.ts: a
 * Value number that is not finite, in the event or packed in an extension, or an extension it
 * cannot unpack), for the decoded event's checks to name (event-rules.ts), or an empty
 * tenant_id or project_id, which the caller's key may fill in (access.ts), changing the event.
 */
export function readWireEvent(bytes: Uint8Array): WireEvent | undefined {
  const src = asBuffer(bytes);
  const payload = canonicalFromWire(EventSchema, src, INTEGRITY_FIELDS);
  if (payload === undefined) return undefined;
  // The bytes are now known to be well formed: each singular field once, strings valid UTF-8.
  // EVENT_FIELDS reads every field of WireEvent["fields"], each set to its default if absent.
  const fields = readFields(src, 0, src.length, EVENT_FIELDS) as unknown as WireEvent["fields"] &
    Pick<Event, "extensions">;
  if (fields.tenantId === "" || fields.projectId === "") return undefined;
  if (fields.extensions.some((any) => jsonUnwritableViolations(AnySchema, any, "").length > 0)) return undefined;
  return { fields, payload };
}

/** The fields to read of one message type, by number: how to read each, and its default. */
type FieldReaders = Map<number, { name: string; read: Reader; initial: () => unknown; repeated: boolean }>;
type Reader = (src: Buffer, start: number, end: number) => unknown;

/** Event fields read from the wire: what IngestFields, Searchable, UsageSource and the record hold. */
const EVENT_FIELDS = readersFor(EventSchema, [
  "eventId",
  "tenantId",
  "projectId",
  "sessionId",
  "spanId",
  "parentSpanId",
  "traceId",
  "agentId",
  "agentName",
  "contentHash",
  "tags",
  "type",
  "status",
  "severity",
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
    read: (src, start, end) => ({
      case: kind,
      value: readers === undefined ? readStruct(src, start, end) : readFields(src, start, end, readers),
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
  read: (src, start, end) => fromBinary(AnySchema, src.subarray(start, end)),
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
    return { read: (src, start) => src.readDoubleLE(start), initial: () => 0, repeated: false };
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
function readFields(src: Buffer, start: number, end: number, readers: FieldReaders): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const { name, initial } of readers.values()) fields[name] = initial();
  forEachField(src, start, end, (no, valueStart, valueEnd) => {
    const reader = readers.get(no);
    if (reader === undefined) return;
    const value = reader.read(src, valueStart, valueEnd);
    if (reader.repeated) (fields[reader.name] as unknown[]).push(value);
    else fields[reader.name] = value;
  });
  return fields;
}

/**
 * Calls `visit` with each field's number and value: for length-delimited fields their content,
 * otherwise their bytes. The bytes were checked by canonicalFromWire, so nothing is checked here.
 */
function forEachField(
  src: Buffer,
  start: number,
  end: number,
  visit: (no: number, start: number, end: number) => void,
): void {
  for (let pos = start; pos < end; ) {
    const tag = readVarint(src, pos, end);
    const wireType = tag & 7;
    const valueEnd = skipValue(src, varintEnd, end, wireType);
    visit(tag >>> 3, wireType === LEN ? lengthEnd : varintEnd, valueEnd);
    pos = valueEnd;
  }
}

function readString(src: Buffer, start: number, end: number): string {
  return src.toString("utf8", start, end);
}

function readUint32(src: Buffer, start: number, end: number): number {
  return readVarint(src, start, end);
}

/** An int32: negative ones are ten-byte varints, read as int64 and truncated as protobuf does. */
function readInt32(src: Buffer, start: number, end: number): number {
  const value = readVarint(src, start, end);
  return value >= 0 && value <= 0x7fffffff ? value : Number(BigInt.asIntN(32, readInt64(src, start, end)));
}

function readTimestamp(src: Buffer, start: number, end: number): { seconds: bigint; nanos: number } {
  const timestamp = { seconds: 0n, nanos: 0 };
  forEachField(src, start, end, (no, valueStart, valueEnd) => {
    if (no === 1) timestamp.seconds = readInt64(src, valueStart, valueEnd);
    else if (no === 2) timestamp.nanos = readVarint(src, valueStart, valueEnd);
  });
  return timestamp;
}

function readInt64(src: Buffer, start: number, end: number): bigint {
  let value = 0n;
  for (let i = end - 1; i >= start; i--) value = (value << 7n) | BigInt(src[i] & 0x7f);
  return BigInt.asIntN(64, value);
}

/** A google.protobuf.Struct as protobuf-es holds it: a JsonObject, keys set in arrival order. */
function readStruct(src: Buffer, start: number, end: number): JsonObject {
  const object: JsonObject = {};
  forEachField(src, start, end, (_, entryStart, entryEnd) => {
    let key = "";
    let value: JsonValue = null;
    forEachField(src, entryStart, entryEnd, (no, valueStart, valueEnd) => {
      if (no === 1) key = src.toString("utf8", valueStart, valueEnd);
      else value = readValue(src, valueStart, valueEnd);
    });
    // As protobuf-es sets it: assigning "__proto__" would set the prototype instead.
    if (key === "__proto__")
      Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true });
    else object[key] = value;
  });
  return object;
}

/** google.protobuf.Value: its one kind, as a JsonValue. */
function readValue(src: Buffer, start: number, end: number): JsonValue {
  let value: JsonValue = null;
  forEachField(src, start, end, (no, valueStart, valueEnd) => {
    switch (no) {
      case 2:
        value = src.readDoubleLE(valueStart);
        break;
      case 3:
        value = src.toString("utf8", valueStart, valueEnd);
        break;
      case 4:
        value = src[valueStart] === 1;
        break;
      case 5:
        value = readStruct(src, valueStart, valueEnd);
        break;
      case 6: {
        const list: JsonValue[] = [];
        forEachField(src, valueStart, valueEnd, (_, itemStart, itemEnd) => {
          list.push(readValue(src, itemStart, itemEnd));
        });
        value = list;
        break;
      }
    }
  });
  return value;
}
