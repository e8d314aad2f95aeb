import { toBinary } from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";
import { describe, expect, it } from "vitest";
import { type Event, EventSchema } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import { QueryResponseSchema } from "../../gen/chaukas/spec/common/v1/query_pb.ts";
import { corpusEvents, DEFAULT_CORPUS } from "../../kit/corpus.ts";
import { decodedQueryResponse, type EventPage, queryResponseEncoding } from "../../src/core/event-page.ts";
import { fromStoredEvent, storedEventLength, writeStoredEvent } from "../../src/core/event-record.ts";
import type { LogEntryRef } from "../../src/store/event-store.ts";
import { EVERY_CONTENT, fullEvent, makeEvent, storedEvent } from "../support/events.ts";

/** A hash as the store gives it: 32 bytes in lowercase hex. */
const hash = (byte: number) => byte.toString(16).padStart(2, "0").repeat(32);

/** The log entries a stored event can have: none yet, the first leaf (no hash_prev), unsigned, signed. */
const ENTRIES: [string, LogEntryRef | undefined][] = [
  ["not in the log yet", undefined],
  ["the first leaf, no checkpoint yet", { position: 0n, contentHash: hash(1), hashPrev: "" }],
  ["a leaf with no checkpoint yet", { position: 7n, contentHash: hash(2), hashPrev: hash(3) }],
  ["a signed leaf", { position: 7n, contentHash: hash(4), hashPrev: hash(5), checkpointSize: 12n }],
];

/** An event with unknown fields (from a newer spec), which are stored and served as received. */
function withUnknownFields(content: boolean): Event {
  const event = content ? fullEvent(EVERY_CONTENT[0]) : makeEvent();
  event.$unknown = [
    { no: 9_000, wireType: WireType.Varint, data: new Uint8Array([42]) },
    { no: 5_000, wireType: WireType.LengthDelimited, data: new Uint8Array([2, 104, 105]) },
  ];
  return event;
}

const EVENTS: [string, Event][] = [
  ...EVERY_CONTENT.map((content) => [`${content.case} content, every field`, fullEvent(content)] as [string, Event]),
  ["no content", makeEvent()],
  ["unknown fields, with content", withUnknownFields(true)],
  ["unknown fields, no content", withUnknownFields(false)],
  ...corpusEvents({ ...DEFAULT_CORPUS, expectedEvents: 1000 }, 60).map(
    (event) => [`corpus ${event.type} ${event.eventId}`, event] as [string, Event],
  ),
];

describe("a stored event served in binary without decoding it", () => {
  describe.each(ENTRIES)("%s", (_, entry) => {
    it.each(EVENTS)("%s: the bytes a decode and re-encode give", (_, event) => {
      const row = storedEvent(event, entry);
      const bytes = Buffer.alloc(storedEventLength(row) + 2, 0xee);
      // Written where it is asked, to its stated length and not a byte beyond.
      expect(writeStoredEvent(bytes, 1, row)).toBe(bytes.length - 1);
      expect(bytes.subarray(1, -1)).toEqual(Buffer.from(toBinary(EventSchema, fromStoredEvent(row))));
      expect([bytes[0], bytes[bytes.length - 1]]).toEqual([0xee, 0xee]);
    });
  });

  it("fills the integrity fields the decoded event has", () => {
    const row = storedEvent(fullEvent(EVERY_CONTENT[1]), ENTRIES[3][1]);
    const served = fromStoredEvent(row);
    expect(served.contentHash).toBe("04".repeat(32));
    expect(served.hashPrev).toBe("05".repeat(32));
    expect(served.wormProofId).toBe("checkpoint/12");
  });
});

describe("a query page in binary", () => {
  const rows = EVENTS.map(([, event], i) => storedEvent(event, ENTRIES[i % ENTRIES.length][1]));
  const pages: [string, EventPage][] = [
    ["with a next page", { events: rows, nextPageToken: "token-of-the-next-page" }],
    ["a token of more than 127 bytes", { events: rows.slice(0, 3), nextPageToken: "t".repeat(300) }],
    ["a token of characters of 2 to 4 bytes", { events: rows.slice(0, 2), nextPageToken: "é🙂中".repeat(50) }],
    ["the last page", { events: rows.slice(0, 5), nextPageToken: "" }],
    ["an empty page", { events: [], nextPageToken: "" }],
  ];

  it.each(pages)("%s: encodes to the bytes of the decoded page", (_, page) => {
    const encoding = queryResponseEncoding(page);
    const bytes = Buffer.alloc(encoding.byteLength + 2, 0xee);
    // Written where it is asked, to its stated length and not a byte beyond.
    expect(encoding.writeInto(bytes, 1)).toBe(bytes.length - 1);
    expect(bytes.subarray(1, -1)).toEqual(Buffer.from(toBinary(QueryResponseSchema, decodedQueryResponse(page))));
    expect([bytes[0], bytes[bytes.length - 1]]).toEqual([0xee, 0xee]);
  });
});
