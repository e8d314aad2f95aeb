import {
  clone,
  create,
  createFileRegistry,
  type DescMessage,
  equals,
  fromBinary,
  fromJson,
  type JsonObject,
  type JsonValue,
  type MessageInitShape,
  ScalarType,
  toBinary,
} from "@bufbuild/protobuf";
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FieldOptions_JSType,
  FileDescriptorProtoSchema,
  file_google_protobuf_struct,
  file_google_protobuf_wrappers,
  StructSchema,
  TimestampSchema,
} from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { type Event, EventSchema, Severity } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import { TimeRangeSchema } from "../../gen/chaukas/spec/common/v1/query_pb.ts";
import { GetEventStatsResponseSchema } from "../../gen/chaukas/spec/server/v1/server_pb.ts";
import { Random } from "../../kit/random.ts";
import { canonicalBinary } from "../../src/codec/canonical-binary.ts";
import { EVERY_CONTENT, fullEvent, makeEvent } from "../support/events.ts";

type EventInit = MessageInitShape<typeof EventSchema>;

const utf8 = (s: string) => new TextEncoder().encode(s);
/** The oracle for key order: Node's bytewise comparison of the UTF-8 encodings. */
const byUtf8 = (a: string, b: string) => Buffer.compare(utf8(a), utf8(b));
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

/**
 * A copy whose JSON objects have their keys inserted in bytewise order, so that toBinary (which
 * follows insertion order) writes them canonically. Only valid without integer-like keys, which
 * JavaScript enumerates first whatever the insertion order.
 */
function withSortedKeys(event: Event): Event {
  const copy = clone(EventSchema, event);
  reorderJson(copy, (keys) => keys.sort(byUtf8));
  return copy;
}

/** Re-inserts the keys of every JSON object below `x` in the order `order` gives. */
function reorderJson(x: unknown, order: (keys: string[]) => string[]): void {
  if (Array.isArray(x)) {
    for (const item of x) reorderJson(item, order);
    return;
  }
  if (x === null || typeof x !== "object" || x instanceof Uint8Array) return;
  const object = x as Record<string, unknown>;
  for (const value of Object.values(object)) reorderJson(value, order);
  // Messages and oneof cases ({ case, value }) keep their shape; only JSON objects are reordered.
  if ("$typeName" in object || "case" in object) return;
  const entries = new Map(Object.entries(object));
  for (const key of entries.keys()) delete object[key];
  for (const key of order([...entries.keys()])) object[key] = entries.get(key);
}

/** The key lists of a Struct's wire bytes and of all Structs nested in it, in wire order. */
function structKeyLists(bytes: Uint8Array, out: Uint8Array[][] = []): Uint8Array[][] {
  const keys: Uint8Array[] = [];
  out.push(keys);
  const struct = new BinaryReader(bytes);
  while (struct.pos < struct.len) {
    expect(struct.tag()).toEqual([1, WireType.LengthDelimited]);
    const entry = new BinaryReader(struct.bytes());
    expect(entry.tag()).toEqual([1, WireType.LengthDelimited]);
    keys.push(entry.bytes());
    expect(entry.tag()).toEqual([2, WireType.LengthDelimited]);
    valueKeyLists(entry.bytes(), out);
    expect(entry.pos).toBe(entry.len);
  }
  return out;
}

function valueKeyLists(bytes: Uint8Array, out: Uint8Array[][]): void {
  const value = new BinaryReader(bytes);
  while (value.pos < value.len) {
    const [no, wireType] = value.tag();
    if (no === 5) structKeyLists(value.bytes(), out);
    else if (no === 6) {
      const list = new BinaryReader(value.bytes());
      while (list.pos < list.len) {
        list.tag();
        valueKeyLists(list.bytes(), out);
      }
    } else value.skip(wireType); // protobuf BinaryReader.skip: passes over a field this walk ignores
  }
}

function expectStrictlyAscending(keyLists: Uint8Array[][]): void {
  for (const keys of keyLists) {
    for (let i = 1; i < keys.length; i++) {
      expect(Buffer.compare(keys[i - 1], keys[i]), `${hex(keys[i - 1])} before ${hex(keys[i])}`).toBeLessThan(0);
    }
  }
}

/** The records of a message's wire bytes, as [field number, bytes of the whole record]. */
function records(bytes: Uint8Array): [number, Uint8Array][] {
  const reader = new BinaryReader(bytes);
  const out: [number, Uint8Array][] = [];
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const [no, wireType] = reader.tag();
    reader.skip(wireType, no); // protobuf BinaryReader.skip: moves past the record to find its end
    out.push([no, bytes.subarray(start, reader.pos)]);
  }
  return out;
}

/** The payload of a length-delimited record. */
function payload(record: Uint8Array): Uint8Array {
  const reader = new BinaryReader(record);
  reader.tag();
  return reader.bytes();
}

// Keys where JavaScript's order (integer-like first, UTF-16 code units) and UTF-8 byte order differ.
const TRICKY_KEYS = ["b", "a", "10", "2", "é", "Z", " ", "", "0", "-1", "\u{e000}", "\u{fffd}", "😀", "𝄞", "a\u0000"];

function randomKey(r: Random, integerLike: boolean): string {
  const keys = integerLike ? TRICKY_KEYS : TRICKY_KEYS.filter((k) => !/^(0|[1-9]\d*)$/.test(k));
  return r.chance(0.5) ? r.pick(keys) : r.pick(["k", "é", "😀", "A", "_"]) + r.id(r.between(0, 3));
}

function randomJson(r: Random, depth: number, integerLike: boolean): JsonValue {
  switch (r.int(depth > 0 ? 7 : 5)) {
    case 0:
      return null;
    case 1:
      return r.chance(0.5);
    case 2:
      return r.pick([0, -0, 1.5, -3, 2 ** 53, 1e-300]);
    case 3:
      return r.pick(["", "x", "ünïcødé", "😀"]);
    case 4:
      return r.id(r.int(20));
    case 5:
      return Array.from({ length: r.int(4) }, () => randomJson(r, depth - 1, integerLike));
    default:
      return randomObject(r, depth - 1, integerLike);
  }
}

function randomObject(r: Random, depth: number, integerLike: boolean): JsonObject {
  const object: JsonObject = {};
  const size = r.int(7);
  for (let i = 0; i < size; i++) object[randomKey(r, integerLike)] = randomJson(r, depth, integerLike);
  return object;
}

/** An event with random scalars (zero or not) and random Structs in random content. */
function randomEvent(r: Random, integerLike: boolean): Event {
  const object = () => (r.chance(0.8) ? randomObject(r, 3, integerLike) : undefined);
  const contents: EventInit["content"][] = [
    { case: undefined },
    { case: "message", value: { role: "user", text: r.id(), metadata: object() } },
    { case: "toolCall", value: { id: r.id(), arguments: object(), authRequired: r.chance(0.5) } },
    { case: "toolResponse", value: { output: object(), httpStatus: r.int(2) * 200 } },
    { case: "llmInvocation", value: { model: r.id(), request: object(), response: object(), topP: r.pick([0, -0]) } },
    { case: "stateUpdate", value: randomObject(r, 3, integerLike) },
    { case: "agentHandoff", value: { handoffData: object() } },
    { case: "mcpCall", value: { request: object(), response: object() } },
  ];
  return makeEvent({
    content: r.pick(contents),
    metadata: object(),
    infrastructure: r.chance(0.5) ? { host: r.id(), metrics: object() } : undefined,
    severity: r.pick([Severity.UNSPECIFIED, Severity.WARN]),
    isPartial: r.chance(0.5),
    agentId: r.chance(0.5) ? r.id() : "",
    tags: r.subset(["a", "b", "c"], 0.5),
    performance: r.chance(0.5) ? { cpuPercent: r.pick([0, -0, 12.5]) } : undefined,
  });
}

describe("canonicalBinary", () => {
  it("is toBinary for messages without maps", () => {
    const range = create(TimeRangeSchema, { start: { seconds: 5n }, end: { seconds: 9n, nanos: 1 } });
    expect(canonicalBinary(TimeRangeSchema, range)).toEqual(toBinary(TimeRangeSchema, range));
    const timestamp = create(TimestampSchema, { seconds: -1n, nanos: 7 });
    expect(canonicalBinary(TimestampSchema, timestamp)).toEqual(toBinary(TimestampSchema, timestamp));
  });

  it("is toBinary for events without Structs", () => {
    const event = makeEvent({ spanId: "s", tags: ["x", "y"], cost: { inputTokens: 3 }, retry: { attempt: 1 } });
    expect(canonicalBinary(EventSchema, event)).toEqual(toBinary(EventSchema, event));
    const full = fullEvent({ case: "error", value: { errorMessage: "boom" } });
    full.metadata = undefined;
    full.infrastructure = undefined;
    expect(canonicalBinary(EventSchema, full)).toEqual(toBinary(EventSchema, full));
  });

  it.each(EVERY_CONTENT.map((content) => [content.case, content] as const))(
    "is toBinary with sorted keys, and parses back to the event, for content %s",
    (_name, content) => {
      const event = fullEvent(content);
      const canonical = canonicalBinary(EventSchema, event);
      expect(hex(canonical)).toBe(hex(toBinary(EventSchema, withSortedKeys(event))));
      expect(equals(EventSchema, fromBinary(EventSchema, canonical), event)).toBe(true);
    },
  );

  it("encodes each message afresh after a large one and after one that failed half-way", () => {
    const r = new Random(11);
    const expected = (event: Event) => hex(toBinary(EventSchema, withSortedKeys(event)));
    const small = randomEvent(r, false);
    const large = makeEvent({ metadata: { blob: "x".repeat(3 << 20), nested: { list: [1, "two", null] } } });
    // An int32 out of range makes the writer throw after the fields before it are written.
    const broken = makeEvent({ metadata: { a: "before" }, retry: { attempt: 2 ** 40 } });

    expect(hex(canonicalBinary(EventSchema, large))).toBe(expected(large));
    expect(hex(canonicalBinary(EventSchema, small))).toBe(expected(small));
    expect(() => canonicalBinary(EventSchema, broken)).toThrow(/int32/);
    expect(hex(canonicalBinary(EventSchema, small))).toBe(expected(small));
    const bytes = canonicalBinary(EventSchema, small);
    canonicalBinary(EventSchema, large); // a returned encoding is a copy, not the writer's buffer
    expect(hex(bytes)).toBe(expected(small));
  });

  it("differs from toBinary when keys are not inserted in order", () => {
    const event = fullEvent(EVERY_CONTENT[0]); // metadata is { sdk, version, flags }
    expect(hex(canonicalBinary(EventSchema, event))).not.toBe(hex(toBinary(EventSchema, event)));
  });

  it("is toBinary with sorted keys for random events", () => {
    const r = new Random(20_251_125);
    for (let i = 0; i < 300; i++) {
      const event = randomEvent(r, false);
      expect(hex(canonicalBinary(EventSchema, event))).toBe(hex(toBinary(EventSchema, withSortedKeys(event))));
    }
  });

  it("gives random events with any keys the same bytes in any key order, and parses back to them", () => {
    const r = new Random(7);
    for (let i = 0; i < 300; i++) {
      const event = randomEvent(r, true);
      const canonical = canonicalBinary(EventSchema, event);
      const shuffled = clone(EventSchema, event);
      reorderJson(shuffled, (keys) => r.shuffle(keys));
      expect(hex(canonicalBinary(EventSchema, shuffled))).toBe(hex(canonical));
      expect(equals(EventSchema, fromBinary(EventSchema, canonical), event)).toBe(true);
    }
  });

  it("sorts Struct keys by their UTF-8 bytes whatever the insertion order", () => {
    const r = new Random(1);
    const keys = ["b", "a", "10", "2", "é", "Z", " "];
    const expected = [...keys].sort(byUtf8);
    expect(expected).toEqual([" ", "10", "2", "Z", "a", "b", "é"]);
    let first: string | undefined;
    for (let i = 0; i < 20; i++) {
      const json = Object.fromEntries(r.shuffle([...keys]).map((k) => [k, k]));
      const bytes = canonicalBinary(StructSchema, fromJson(StructSchema, json));
      first ??= hex(bytes);
      expect(hex(bytes)).toBe(first);
      const [wireKeys] = structKeyLists(bytes);
      expect(wireKeys.map((k) => new TextDecoder().decode(k))).toEqual(expected);
    }
  });

  it("sorts keys outside the Basic Multilingual Plane after U+E000..U+FFFF, as UTF-8 does", () => {
    const json = { "𝄞": 1, "\u{fffd}": 2, "\u{e000}": 3, "~": 4 };
    const [wireKeys] = structKeyLists(canonicalBinary(StructSchema, fromJson(StructSchema, json)));
    expect(wireKeys.map((k) => new TextDecoder().decode(k))).toEqual(["~", "\u{e000}", "\u{fffd}", "𝄞"]);
  });

  it("sorts a lone surrogate as the U+FFFD it is written as", () => {
    const json = { "\u{fffe}": 1, "\ud800": 2, "\u{e000}": 3 };
    const [wireKeys] = structKeyLists(canonicalBinary(StructSchema, fromJson(StructSchema, json)));
    expect(wireKeys.map(hex)).toEqual(["ee8080", "efbfbd", "efbfbe"]);
  });

  it("sorts Structs nested in Struct values and in lists", () => {
    const json = {
      z: { y: 1, x: { "2": 1, "10": 2, b: [{ d: 1, c: 2 }] } },
      a: [[{ f: 1, e: 2 }], { h: null, g: true }],
    };
    const keyLists = structKeyLists(canonicalBinary(StructSchema, fromJson(StructSchema, json)));
    expect(keyLists.map((keys) => keys.map((k) => new TextDecoder().decode(k)))).toEqual([
      ["a", "z"],
      ["e", "f"],
      ["g", "h"],
      ["x", "y"],
      ["10", "2", "b"],
      ["c", "d"],
    ]);
  });

  it("sorts the keys of random nested JSON", () => {
    const r = new Random(99);
    for (let i = 0; i < 200; i++) {
      const json = randomObject(r, 4, true);
      expectStrictlyAscending(structKeyLists(canonicalBinary(StructSchema, fromJson(StructSchema, json))));
    }
  });

  it("matches bytes written by hand from the wire format", () => {
    // Struct { fields: map<string, Value> = 1 }; Value { null_value = 1, string_value = 3,
    // bool_value = 4, struct_value = 5 }. Each entry: tag 0x0a, length, key (0x0a, length,
    // UTF-8) and value (0x12, length, Value). Keys and values are written even when empty.
    const expected = [
      "0a06" + "0a00" + "12022a00", // "": {}
      "0a08" + "0a0161" + "12031a0178", // "a": "x"
      "0a07" + "0a0162" + "12022001", // "b": true
      "0a07" + "0a0163" + "12020800", // "c": null (NULL_VALUE = 0, written: it is a oneof member)
    ].join("");
    const struct = fromJson(StructSchema, { b: true, a: "x", c: null, "": {} });
    expect(hex(canonicalBinary(StructSchema, struct))).toBe(expected);
  });

  it("writes scalar map values even when zero", () => {
    // map<string, int64> events_by_type = 3: entry tag 0x1a; value field 2 is a varint (0x10).
    const stats = create(GetEventStatsResponseSchema, { eventsByType: { b: 0n, a: 300n } });
    expect(hex(canonicalBinary(GetEventStatsResponseSchema, stats))).toBe(
      "1a06" + "0a0161" + "10ac02" + "1a05" + "0a0162" + "1000",
    );
  });

  it("keeps unknown fields, after the known fields of their message", () => {
    const event = fullEvent(EVERY_CONTENT[1]); // toolCall
    const unknown = new BinaryWriter().tag(1000, WireType.Varint).uint32(42).finish();
    // Received before the known fields: still written after them.
    const parsed = fromBinary(EventSchema, new Uint8Array([...unknown, ...toBinary(EventSchema, event)]));
    expect(parsed.$unknown).toHaveLength(1);
    if (parsed.content.case !== "toolCall") throw new Error("expected a tool call");
    parsed.content.value.$unknown = [{ no: 900, wireType: WireType.LengthDelimited, data: new Uint8Array([1, 7]) }];

    const canonical = canonicalBinary(EventSchema, parsed);
    const top = records(canonical);
    expect(hex(top[top.length - 1][1])).toBe(hex(unknown));
    const numbers = top.map(([no]) => no);
    expect(numbers.slice(0, -1)).toEqual([...numbers.slice(0, -1)].sort((a, b) => a - b));

    const toolCall = top.find(([no]) => no === EventSchema.field.toolCall.number);
    const inner = records(payload(toolCall?.[1] ?? new Uint8Array()));
    // The data of a length-delimited unknown field starts with its length: 0x01, then 0x07.
    expect(hex(inner[inner.length - 1][1])).toBe(
      `${hex(new BinaryWriter().tag(900, WireType.LengthDelimited).finish())}0107`,
    );

    const reparsed = fromBinary(EventSchema, canonical);
    expect(equals(EventSchema, reparsed, parsed)).toBe(true);
    expect(reparsed.$unknown).toEqual(parsed.$unknown);
    expect(reparsed.content.value?.$unknown).toEqual(parsed.content.value.$unknown);
  });

  describe("with schemas built for the test", () => {
    const registry = testRegistry();
    const Maps = registry.getMessage("test.Maps") as DescMessage;
    const Everything = registry.getMessage("test.Everything") as DescMessage;

    it("sorts integer keys numerically and false before true", () => {
      const message = create(Maps, {
        byInt32: { "10": "a", "-1": "b", "2": "c" },
        bySint64: { "4294967296": "a", "-5": "b", "3": "c" },
        byUint64: { "18446744073709551615": "a", "1": "b", "9223372036854775808": "c" },
        byBool: { true: "a", false: "b" },
        byFixed32: { "4294967295": "a", "0": "b" },
      } as MessageInitShape<DescMessage>);
      const bytes = canonicalBinary(Maps, message);
      const keysOf = (no: number, read: (r: BinaryReader) => unknown) =>
        records(bytes)
          .filter(([n]) => n === no)
          .map(([, record]) => {
            const entry = new BinaryReader(payload(record));
            entry.tag();
            return read(entry);
          });
      expect(keysOf(1, (r) => r.int32())).toEqual([-1, 2, 10]);
      expect(keysOf(2, (r) => r.sint64())).toEqual([-5n, 3n, 4294967296n]);
      expect(keysOf(3, (r) => r.uint64())).toEqual([1n, 9223372036854775808n, 18446744073709551615n]);
      expect(keysOf(4, (r) => r.bool())).toEqual([false, true]);
      expect(keysOf(5, (r) => r.fixed32())).toEqual([0, 4294967295]);
      expect(equals(Maps, fromBinary(Maps, bytes), message)).toBe(true);
    });

    it("is toBinary with sorted keys for every kind of field, with random values", () => {
      const r = new Random(5);
      for (let i = 0; i < 300; i++) {
        const message = create(Everything, randomEverything(r, Everything, 2));
        const sorted = clone(Everything, message);
        reorderJson(sorted, (keys) => keys.sort(byUtf8));
        expect(hex(canonicalBinary(Everything, message))).toBe(hex(toBinary(Everything, sorted)));
      }
    });

    it("writes explicit-presence fields set to zero, and omits implicit ones", () => {
      const message = create(Everything, {
        sInt32: 0,
        sString: "",
        choice: { case: "cInt32", value: 0 },
        optInt32: 0,
      } as MessageInitShape<DescMessage>);
      // Field 45 (oneof member) and 47 (proto3 optional): tags 45 << 3 = 0x168 and 47 << 3 = 0x178.
      expect(hex(canonicalBinary(Everything, message))).toBe("e80200" + "f80200");
    });
  });
});

const SCALAR_TYPES = [
  FieldDescriptorProto_Type.DOUBLE,
  FieldDescriptorProto_Type.FLOAT,
  FieldDescriptorProto_Type.INT64,
  FieldDescriptorProto_Type.UINT64,
  FieldDescriptorProto_Type.INT32,
  FieldDescriptorProto_Type.FIXED64,
  FieldDescriptorProto_Type.FIXED32,
  FieldDescriptorProto_Type.BOOL,
  FieldDescriptorProto_Type.STRING,
  FieldDescriptorProto_Type.BYTES,
  FieldDescriptorProto_Type.UINT32,
  FieldDescriptorProto_Type.SFIXED32,
  FieldDescriptorProto_Type.SFIXED64,
  FieldDescriptorProto_Type.SINT32,
  FieldDescriptorProto_Type.SINT64,
];

/**
 * A proto3 file with two messages: Maps, with maps keyed by int32, sint64, uint64, bool and
 * fixed32; and Everything, with every kind of field: each scalar type singular (field number =
 * type number) and repeated (20 + type number), an enum, unpacked, wrapper, message, oneof,
 * optional, JS_STRING and map fields.
 */
function testRegistry() {
  const Type = FieldDescriptorProto_Type;
  const Label = FieldDescriptorProto_Label;
  const field = (name: string, number: number, type: FieldDescriptorProto_Type, more: object = {}) => ({
    name,
    number,
    label: Label.OPTIONAL,
    type,
    ...more,
  });
  const repeated = { label: Label.REPEATED };
  const mapEntry = (name: string, keyType: FieldDescriptorProto_Type, value: object) => ({
    name,
    options: { mapEntry: true },
    field: [field("key", 1, keyType), { ...field("value", 2, Type.STRING), ...value }],
  });
  const maps = [
    ["by_int32", "ByInt32Entry", Type.INT32],
    ["by_sint64", "BySint64Entry", Type.SINT64],
    ["by_uint64", "ByUint64Entry", Type.UINT64],
    ["by_bool", "ByBoolEntry", Type.BOOL],
    ["by_fixed32", "ByFixed32Entry", Type.FIXED32],
  ] as const;
  const typeName = (type: FieldDescriptorProto_Type) => Type[type].toLowerCase();
  const file = create(FileDescriptorProtoSchema, {
    name: "canonical_binary_test.proto",
    package: "test",
    syntax: "proto3",
    dependency: ["google/protobuf/wrappers.proto", "google/protobuf/struct.proto"],
    enumType: [
      {
        name: "Color",
        value: [
          { name: "COLOR_UNSPECIFIED", number: 0 },
          { name: "COLOR_RED", number: 1 },
        ],
      },
    ],
    messageType: [
      {
        name: "Maps",
        field: maps.map(([name, entry], i) =>
          field(name, i + 1, Type.MESSAGE, { ...repeated, typeName: `.test.Maps.${entry}` }),
        ),
        nestedType: maps.map(([, entry, keyType]) => mapEntry(entry, keyType, {})),
      },
      {
        name: "Everything",
        field: [
          ...SCALAR_TYPES.map((type) => field(`s_${typeName(type)}`, type, type)),
          ...SCALAR_TYPES.map((type) => field(`r_${typeName(type)}`, 20 + type, type, repeated)),
          field("s_enum", 19, Type.ENUM, { typeName: ".test.Color" }),
          field("r_enum", 39, Type.ENUM, { ...repeated, typeName: ".test.Color" }),
          field("r_unpacked", 40, Type.INT32, { ...repeated, options: { packed: false } }),
          field("wrapped", 41, Type.MESSAGE, { typeName: ".google.protobuf.Int32Value" }),
          field("child", 42, Type.MESSAGE, { typeName: ".test.Everything" }),
          field("children", 43, Type.MESSAGE, { ...repeated, typeName: ".test.Everything" }),
          field("by_name", 44, Type.MESSAGE, { ...repeated, typeName: ".test.Everything.ByNameEntry" }),
          field("c_int32", 45, Type.INT32, { oneofIndex: 0 }),
          field("c_string", 46, Type.STRING, { oneofIndex: 0 }),
          field("opt_int32", 47, Type.INT32, { oneofIndex: 1, proto3Optional: true }),
          field("s_int64_string", 48, Type.INT64, { options: { jstype: FieldOptions_JSType.JS_STRING } }),
          // Held as JsonObject by protobuf-es, singular, repeated and as map values.
          field("struct", 49, Type.MESSAGE, { typeName: ".google.protobuf.Struct" }),
          field("structs", 50, Type.MESSAGE, { ...repeated, typeName: ".google.protobuf.Struct" }),
          field("struct_by_name", 51, Type.MESSAGE, { ...repeated, typeName: ".test.Everything.StructByNameEntry" }),
        ],
        oneofDecl: [{ name: "choice" }, { name: "_opt_int32" }],
        nestedType: [
          mapEntry("ByNameEntry", Type.STRING, { type: Type.MESSAGE, typeName: ".test.Everything" }),
          mapEntry("StructByNameEntry", Type.STRING, { type: Type.MESSAGE, typeName: ".google.protobuf.Struct" }),
        ],
      },
    ],
  });
  const imports = [file_google_protobuf_wrappers, file_google_protobuf_struct];
  return createFileRegistry(file, (name) => imports.find((f) => f.proto.name === name));
}

function randomScalar(r: Random, type: ScalarType): unknown {
  switch (type) {
    case ScalarType.DOUBLE:
      return r.pick([0, -0, 1.5, -2.25, 1e300, Number.NaN, Number.NEGATIVE_INFINITY]);
    case ScalarType.FLOAT:
      return r.pick([0, -0, 1.5, -2.25]);
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return r.pick([0n, -1n, 2n ** 62n, -(2n ** 63n)]);
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return r.pick([0n, 1n, 2n ** 64n - 1n]);
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return r.pick([0, -1, 2 ** 31 - 1, -(2 ** 31)]);
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return r.pick([0, 1, 2 ** 32 - 1]);
    case ScalarType.BOOL:
      return r.chance(0.5);
    case ScalarType.STRING:
      return r.pick(["", "x", "😀"]);
    case ScalarType.BYTES:
      return r.pick([new Uint8Array(0), new Uint8Array([0, 255])]);
  }
}

/** Random values for test.Everything, most fields left unset or zero. */
function randomEverything(r: Random, schema: DescMessage, depth: number): MessageInitShape<DescMessage> {
  const init: Record<string, unknown> = {};
  for (const f of schema.fields) {
    if (!r.chance(0.4)) continue;
    if (f.fieldKind === "scalar") {
      init[f.localName] = f.longAsString ? r.pick(["0", "-5", "123"]) : randomScalar(r, f.scalar);
    } else if (f.fieldKind === "enum") {
      init[f.localName] = r.int(3); // 2 is not a known Color: open enums keep it
    } else if (f.fieldKind === "list" && f.listKind === "scalar") {
      init[f.localName] = Array.from({ length: r.int(4) }, () => randomScalar(r, f.scalar));
    } else if (f.fieldKind === "list" && f.listKind === "enum") {
      init[f.localName] = Array.from({ length: r.int(4) }, () => r.int(3));
    }
  }
  if (r.chance(0.5)) init.wrapped = r.pick([0, -7]);
  if (r.chance(0.5))
    init.choice = r.pick([
      { case: "cInt32", value: r.int(2) },
      { case: "cString", value: r.pick(["", "z"]) },
    ]);
  if (r.chance(0.5)) init.optInt32 = r.int(2);
  if (depth > 0) {
    if (r.chance(0.5)) init.child = randomEverything(r, schema, depth - 1);
    init.children = Array.from({ length: r.int(3) }, () => randomEverything(r, schema, depth - 1));
    const keys = r.subset(["", "é", "b", "a"], 0.5);
    init.byName = Object.fromEntries(keys.map((k) => [k, randomEverything(r, schema, depth - 1)]));
  }
  // No integer-like keys, so that sorted insertion makes toBinary canonical (see withSortedKeys).
  if (r.chance(0.5)) init.struct = randomObject(r, 2, false);
  init.structs = Array.from({ length: r.int(3) }, () => randomObject(r, 2, false));
  if (r.chance(0.5)) {
    init.structByName = { z: randomObject(r, 2, false), "": randomObject(r, 2, false), é: randomObject(r, 2, false) };
  }
  return init as MessageInitShape<DescMessage>;
}
