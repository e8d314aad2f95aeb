import { type DescMessage, fromBinary, type JsonObject, toBinary } from "@bufbuild/protobuf";
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { StructSchema, TimestampSchema, ValueSchema } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { EventSchema } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import { Random } from "../../kit/random.ts";
import { canonicalBinary } from "../../src/codec/canonical-binary.ts";
import { canonicalFromWire } from "../../src/codec/canonical-wire.ts";
import { EVERY_CONTENT, fullEvent, makeEvent } from "../support/events.ts";

const hex = (bytes: Uint8Array | undefined) => (bytes === undefined ? undefined : Buffer.from(bytes).toString("hex"));

/** The oracle: decode with protobuf-es, then the canonical encoder. */
const decodedAndEncoded = (desc: DescMessage, bytes: Uint8Array) => canonicalBinary(desc, fromBinary(desc, bytes));

/** canonicalFromWire must give exactly the oracle's bytes. */
function expectCanonical(bytes: Uint8Array, desc: DescMessage = EventSchema): void {
  const fromWire = canonicalFromWire(desc, bytes);
  expect(fromWire, "read from the wire").toBeDefined();
  expect(hex(fromWire)).toBe(hex(decodedAndEncoded(desc, bytes)));
}

/** The top-level fields of an encoded message, each as its own bytes (tag included). */
function recordsOf(bytes: Uint8Array): Uint8Array[] {
  const reader = new BinaryReader(bytes);
  const records: Uint8Array[] = [];
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const [, wireType] = reader.tag();
    reader.skip(wireType); // skips the field's value, not a test
    records.push(bytes.subarray(start, reader.pos));
  }
  return records;
}

const concat = (parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));

/** A Struct whose keys are inserted in the order given, so toBinary writes them so. */
function struct(entries: [string, unknown][]): JsonObject {
  const object: JsonObject = {};
  for (const [key, value] of entries) object[key] = value as JsonObject[string];
  return object;
}

describe("canonicalFromWire", () => {
  it("gives the decoded event's canonical encoding for every content case", () => {
    for (const content of EVERY_CONTENT) expectCanonical(toBinary(EventSchema, fullEvent(content)));
    expectCanonical(toBinary(EventSchema, makeEvent()));
  });

  it("sorts Struct keys at every depth by their UTF-8 bytes, whatever order they came in", () => {
    const value = struct([
      ["zeta", 1],
      ["alpha", { é: true, e: null, "10": "ten", "9": [3, { b: 1, a: 2 }] }],
      ["", "empty key"],
      ["__proto__", "a key like any other"],
      ["😀", "astral"],
      ["\uffff", "last in the BMP"],
    ]);
    const event = makeEvent({ content: { case: "toolCall", value: { name: "t", arguments: value } } });
    const bytes = toBinary(EventSchema, event);
    expectCanonical(bytes);
    expect(hex(canonicalFromWire(EventSchema, bytes))).not.toBe(hex(bytes)); // it did reorder
  });

  it("sorts a Struct of tens of thousands of keys that came in reverse order", () => {
    const keys = Array.from({ length: 20_000 }, (_, i) => `key-${String(i).padStart(5, "0")}`).reverse();
    const value = struct(keys.map((key, i) => [key, i % 3 === 0 ? null : key]));
    expectCanonical(toBinary(EventSchema, makeEvent({ content: { case: "stateUpdate", value } })));
  });

  it("moves fields into number order and unknown fields after the known ones", () => {
    const records = recordsOf(toBinary(EventSchema, fullEvent(EVERY_CONTENT[0])));
    const unknown = new BinaryWriter().tag(1000, WireType.Varint).uint32(7).finish();
    const unknownLen = new BinaryWriter().tag(999, WireType.LengthDelimited).string("x").finish();
    const shuffled = concat([unknown, ...records.slice().reverse(), unknownLen]);
    expectCanonical(shuffled);
    const interleaved = concat([records[0], unknownLen, ...records.slice(1, 5), unknown, ...records.slice(5)]);
    expectCanonical(interleaved);
  });

  it("keeps repeated strings in the order they came in, when other fields come between them", () => {
    const event = makeEvent({ tags: ["b", "a", "c"], traceId: "trace" });
    const records = recordsOf(toBinary(EventSchema, event));
    const [tagRecords, others] = [records.filter((r) => r[0] === 0xb2), records.filter((r) => r[0] !== 0xb2)];
    expectCanonical(concat([tagRecords[0], ...others, tagRecords[1], tagRecords[2]]));
  });

  it("keeps -0, infinities and the extremes of each integer type as they are", () => {
    const event = makeEvent({
      timestamp: { seconds: -62_135_596_800n, nanos: 999_999_999 },
      retry: { attempt: 2_147_483_647, backoffMs: 1 },
      performance: { cpuPercent: -0, memoryMb: Number.POSITIVE_INFINITY, durationMs: Number.NEGATIVE_INFINITY },
      content: {
        case: "toolResponse",
        value: { executionTimeMs: Number.MIN_VALUE, httpStatus: 599, output: { n: -0, big: 1e308 } },
      },
    });
    expectCanonical(toBinary(EventSchema, event));
  });

  it("reads a message of hundreds of thousands of fields, and ordinary ones after it", () => {
    const tags = Array.from({ length: 300_000 }, (_, i) => `t${i % 7}`);
    expectCanonical(toBinary(EventSchema, makeEvent({ tags, traceId: "trace" })));
    expectCanonical(toBinary(EventSchema, fullEvent(EVERY_CONTENT[1])));
  });

  it("leaves out the top-level fields it is told to", () => {
    const event = makeEvent({ hashPrev: "aa", contentHash: "bb", wormProofId: "cc", agentName: "x" });
    const omitted = canonicalFromWire(EventSchema, toBinary(EventSchema, event), [18, 19, 20]);
    const expected = canonicalBinary(EventSchema, { ...event, hashPrev: "", contentHash: "", wormProofId: "" });
    expect(hex(omitted)).toBe(hex(expected));
  });

  describe("returns undefined for what only a full decode settles", () => {
    const base = toBinary(EventSchema, makeEvent());
    const field = (write: (w: BinaryWriter) => BinaryWriter) => write(new BinaryWriter()).finish();
    const structOf = (write: (w: BinaryWriter) => BinaryWriter) =>
      field((w) => w.tag(36, WireType.LengthDelimited).bytes(write(new BinaryWriter()).finish()));
    const entry = (key: string, value: Uint8Array) =>
      new BinaryWriter()
        .tag(1, WireType.LengthDelimited)
        .string(key)
        .tag(2, WireType.LengthDelimited)
        .bytes(value)
        .finish();
    const stringValue = new BinaryWriter().tag(3, WireType.LengthDelimited).string("v").finish();

    it.each<[string, Uint8Array]>([
      [
        "a singular field twice",
        field((w) => w.tag(13, WireType.LengthDelimited).string("a").tag(13, WireType.LengthDelimited).string("b")),
      ],
      [
        "a message field twice (decoding merges them)",
        field((w) =>
          w
            .tag(60, WireType.LengthDelimited)
            .bytes(new Uint8Array([8, 1]))
            .tag(60, WireType.LengthDelimited)
            .bytes(new Uint8Array([8, 2])),
        ),
      ],
      [
        "two members of the content oneof",
        field((w) =>
          w
            .tag(30, WireType.LengthDelimited)
            .bytes(new Uint8Array())
            .tag(37, WireType.LengthDelimited)
            .bytes(new Uint8Array()),
        ),
      ],
      ["an implicit-presence field written as zero", field((w) => w.tag(16, WireType.Varint).bool(false))],
      ["an empty string written", field((w) => w.tag(13, WireType.LengthDelimited).string(""))],
      ["a non-minimal varint", new Uint8Array([0x50, 0x81, 0x00])],
      ["a non-minimal tag", new Uint8Array([0x80, 0x81, 0x00, 0x01])],
      ["a bool other than 0 or 1", new Uint8Array([0x80, 0x01, 0x02])],
      ["a negative enum", field((w) => w.tag(10, WireType.Varint).int32(-1))],
      ["invalid UTF-8", new Uint8Array([0x6a, 0x02, 0xc3, 0x28])],
      ["an overlong UTF-8 form", new Uint8Array([0x6a, 0x02, 0xc0, 0xaf])],
      ["a UTF-8 surrogate", new Uint8Array([0x6a, 0x03, 0xed, 0xa0, 0x80])],
      ["a wire type other than the field's", field((w) => w.tag(13, WireType.Varint).uint32(1))],
      ["a group", new Uint8Array([0xfb, 0x3e, 0xfc, 0x3e])],
      ["a truncated field", new Uint8Array([0x6a, 0x05, 0x61])],
      [
        "a NaN",
        field((w) =>
          w
            .tag(70, WireType.LengthDelimited)
            .bytes(new BinaryWriter().tag(1, WireType.Bit64).double(Number.NaN).finish()),
        ),
      ],
      [
        "a Struct key twice",
        structOf((w) =>
          w
            .tag(1, WireType.LengthDelimited)
            .bytes(entry("k", stringValue))
            .tag(1, WireType.LengthDelimited)
            .bytes(entry("k", stringValue)),
        ),
      ],
      [
        "a Struct entry with its value first",
        structOf((w) =>
          w
            .tag(1, WireType.LengthDelimited)
            .bytes(
              new BinaryWriter()
                .tag(2, WireType.LengthDelimited)
                .bytes(stringValue)
                .tag(1, WireType.LengthDelimited)
                .string("k")
                .finish(),
            ),
        ),
      ],
      [
        "a Value without a kind",
        structOf((w) => w.tag(1, WireType.LengthDelimited).bytes(entry("k", new Uint8Array()))),
      ],
      [
        "a null_value other than 0",
        structOf((w) => w.tag(1, WireType.LengthDelimited).bytes(entry("k", new Uint8Array([0x08, 0x01])))),
      ],
      ["an unknown field in a Struct", structOf((w) => w.tag(2, WireType.Varint).uint32(1))],
    ])("%s", (_, extra) => {
      const bytes = concat([base, extra]);
      expect(canonicalFromWire(EventSchema, bytes)).toBeUndefined();
      expect(canonicalFromWire(EventSchema, base)).toBeDefined(); // what the case adds is refused
    });

    it("nesting deeper than its limit of 64 messages", () => {
      let value = new BinaryWriter().tag(3, WireType.LengthDelimited).string("leaf").finish();
      for (let depth = 0; depth < 40; depth++) {
        const inner = new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(entry("k", value)).finish();
        value = new BinaryWriter().tag(5, WireType.LengthDelimited).bytes(inner).finish();
      }
      expect(canonicalFromWire(ValueSchema, value)).toBeUndefined();
    });
  });

  it("agrees with the full decode on other message types: Struct, Timestamp", () => {
    expectCanonical(toBinary(StructSchema, { $typeName: "google.protobuf.Struct", fields: {} }), StructSchema);
    expectCanonical(
      toBinary(TimestampSchema, { $typeName: "google.protobuf.Timestamp", seconds: -5n, nanos: 7 }),
      TimestampSchema,
    );
  });

  it("on damaged bytes, either gives the full decode's canonical encoding or leaves them to it", () => {
    // Every byte of real events flipped, cut or dropped: whatever the wire reader accepts, it must
    // read exactly as the full decode does, and anything the full decode refuses it must refuse.
    const random = new Random(7);
    let read = 0;
    let refused = 0;
    for (const content of EVERY_CONTENT) {
      const bytes = toBinary(EventSchema, fullEvent(content));
      for (let trial = 0; trial < 150; trial++) {
        const damaged = new Uint8Array(bytes);
        const at = random.int(bytes.length);
        const kind = random.int(3);
        let input: Uint8Array = damaged;
        if (kind === 0) damaged[at] ^= 1 << random.int(8);
        else if (kind === 1) input = damaged.subarray(0, at);
        else input = concat([damaged.subarray(0, at), damaged.subarray(at + 1)]);
        const fromWire = canonicalFromWire(EventSchema, input);
        let oracle: Uint8Array | undefined;
        try {
          oracle = decodedAndEncoded(EventSchema, input);
        } catch {
          oracle = undefined;
        }
        if (fromWire === undefined) {
          refused++;
          continue;
        }
        read++;
        expect(oracle, `accepted what the full decode refuses: ${hex(input)}`).toBeDefined();
        expect(hex(fromWire), hex(input)).toBe(hex(oracle));
      }
    }
    // Both outcomes occur, so the comparison above ran on many damaged events.
    expect(read).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(100);
  });
});
