import { fromBinary, type JsonObject, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { EventSchema } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import { corpusEvents, DEFAULT_CORPUS } from "../../kit/corpus.ts";
import { toEventRecord, wireEventRecord } from "../../src/core/event-record.ts";
import { eventViolations } from "../../src/core/event-rules.ts";
import { readWireEvent } from "../../src/core/event-wire.ts";
import type { EventRecord } from "../../src/store/event-store.ts";
import { EVERY_CONTENT, fullEvent, makeEvent } from "../support/events.ts";

/** A record with its byte fields as hex, for comparison. */
const comparable = (record: EventRecord) => ({
  ...record,
  payload: Buffer.from(record.payload).toString("hex"),
  contentHash: Buffer.from(record.contentHash).toString("hex"),
});

/** The record read from the wire must be the record of the decoded event, field for field. */
function expectSameRecord(bytes: Uint8Array): void {
  const wire = readWireEvent(bytes);
  expect(wire, "read from the wire").toBeDefined();
  if (wire === undefined) return;
  const decoded = fromBinary(EventSchema, bytes);
  expect(eventViolations(wire.fields, "e")).toEqual(eventViolations(decoded, "e"));
  expect(comparable(wireEventRecord(wire))).toStrictEqual(comparable(toEventRecord(decoded)));
}

describe("readWireEvent", () => {
  it.each(EVERY_CONTENT.map((content) => [content.case, content] as const))(
    "reads a %s event as the full decode does: fields, search text, payload and hash",
    (_, content) => expectSameRecord(toBinary(EventSchema, fullEvent(content))),
  );

  it("reads events without content, and with every integrity field set", () => {
    expectSameRecord(toBinary(EventSchema, makeEvent()));
    expectSameRecord(toBinary(EventSchema, makeEvent({ hashPrev: "ab", contentHash: "CD", wormProofId: "w" })));
  });

  it("orders Struct words as JavaScript enumerates the decoded object: integer-like keys first", () => {
    const args: JsonObject = {};
    for (const key of ["zeta", "10", "alpha", "2", "__proto__", "01", "4294967295", "\ufeffbom"])
      args[key] = key.length;
    const event = makeEvent({
      agentName: "\ufeffPlanner",
      content: { case: "toolCall", value: { name: "lookup", arguments: args } },
    });
    expectSameRecord(toBinary(EventSchema, event));
  });

  it("reads the bench corpus as the full decode does", () => {
    const events = corpusEvents({ ...DEFAULT_CORPUS, expectedEvents: 3000 }, 3000);
    for (const event of events) expectSameRecord(toBinary(EventSchema, event));
  });

  it("leaves events without tenant_id or project_id to the full decode: the caller's key fills them in", () => {
    expect(readWireEvent(toBinary(EventSchema, makeEvent({ tenantId: "" })))).toBeUndefined();
    expect(readWireEvent(toBinary(EventSchema, makeEvent({ projectId: "" })))).toBeUndefined();
  });

  it("leaves invalid events to the rules, reading their fields as they are", () => {
    const wire = readWireEvent(toBinary(EventSchema, makeEvent({ eventId: "", timestamp: undefined, tags: [""] })));
    expect(eventViolations(wire?.fields, "e").map((v) => v.field)).toEqual(["e.event_id", "e.timestamp", "e.tags[0]"]);
  });
});
