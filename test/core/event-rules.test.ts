import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import {
  type Author,
  type Event,
  EventSchema,
  type EventStatus,
  EventType,
  type Severity,
} from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import { eventViolations, MAX_ID_LENGTH, MAX_TAG_LENGTH, MAX_TAGS } from "../../src/core/event-rules.ts";
import { EVERY_CONTENT, fullEvent, makeEvent } from "../support/events.ts";

type EventInit = MessageInitShape<typeof EventSchema>;

/** The field names of the violations, in order. */
const fields = (event: Event | undefined, prefix = "event") => eventViolations(event, prefix).map((v) => v.field);

describe("eventViolations", () => {
  it.each(EVERY_CONTENT.map((content) => [content.case, content] as const))(
    "finds nothing wrong with a full event carrying %s",
    (_name, content) => {
      expect(eventViolations(fullEvent(content), "event")).toEqual([]);
    },
  );

  it("finds nothing wrong with a minimal event", () => {
    expect(eventViolations(makeEvent(), "event")).toEqual([]);
  });

  it("requires the event itself, named by the prefix", () => {
    expect(eventViolations(undefined, "event")).toEqual([{ field: "event", description: "is required" }]);
  });

  it.each([
    ["event_id", { eventId: "" }],
    ["tenant_id", { tenantId: "" }],
    ["project_id", { projectId: "" }],
    ["session_id", { sessionId: "" }],
    ["type", { type: EventType.UNSPECIFIED }],
    ["timestamp", { timestamp: undefined }],
  ] as const)("requires %s, named by its proto name under the prefix", (name, init) => {
    const event = makeEvent(init);
    expect(eventViolations(event, "event")).toEqual([{ field: `event.${name}`, description: expect.any(String) }]);
    expect(fields(event, "event_batch.events[7]")).toEqual([`event_batch.events[7].${name}`]);
  });

  it("reports every missing field at once", () => {
    expect(fields(create(EventSchema))).toEqual([
      "event.event_id",
      "event.tenant_id",
      "event.project_id",
      "event.session_id",
      "event.type",
      "event.timestamp",
    ]);
  });

  it.each<[string, EventInit, string]>([
    ["type", { type: 999 as EventType }, "chaukas.spec.common.v1.EventType"],
    ["type", { type: 3 as EventType }, "chaukas.spec.common.v1.EventType"],
    ["status", { status: 6 as EventStatus }, "chaukas.spec.common.v1.EventStatus"],
    ["severity", { severity: -1 as Severity }, "chaukas.spec.common.v1.Severity"],
    ["author", { author: 42 as Author }, "chaukas.spec.common.v1.Author"],
  ])("refuses a %s number no enum value names", (name, init, enumName) => {
    const violations = eventViolations(makeEvent(init), "event");
    expect(violations).toHaveLength(1);
    expect(violations[0]?.field).toBe(`event.${name}`);
    expect(violations[0]?.description).toContain(enumName);
  });

  it.each(["eventId", "tenantId", "projectId", "sessionId", "spanId", "parentSpanId", "traceId", "agentId"] as const)(
    "limits %s to MAX_ID_LENGTH characters",
    (key) => {
      const name = key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
      expect(fields(makeEvent({ [key]: "x".repeat(MAX_ID_LENGTH) }))).toEqual([]);
      expect(fields(makeEvent({ [key]: "x".repeat(MAX_ID_LENGTH + 1) }))).toEqual([`event.${name}`]);
    },
  );

  it("limits the number of tags", () => {
    const tags = (n: number) => Array.from({ length: n }, (_, i) => `tag-${i}`);
    expect(fields(makeEvent({ tags: tags(MAX_TAGS) }))).toEqual([]);
    expect(fields(makeEvent({ tags: tags(MAX_TAGS + 1) }))).toEqual(["event.tags"]);
  });

  it("limits each tag's length and refuses empty tags, naming the tag's index", () => {
    expect(fields(makeEvent({ tags: ["a", "t".repeat(MAX_TAG_LENGTH)] }))).toEqual([]);
    expect(fields(makeEvent({ tags: ["a", "t".repeat(MAX_TAG_LENGTH + 1), ""] }))).toEqual([
      "event.tags[1]",
      "event.tags[2]",
    ]);
  });

  it.each([-1, 1_000_000_000, 2_147_483_647])("refuses timestamp nanos %d", (nanos) => {
    const violations = eventViolations(makeEvent({ timestamp: { seconds: 1_764_072_000n, nanos } }), "event");
    expect(violations).toEqual([{ field: "event.timestamp", description: expect.stringContaining("nanos") }]);
  });

  it("accepts the edges of the int64-nanosecond range and refuses a second beyond them", () => {
    const at = (seconds: bigint, nanos: number) => fields(makeEvent({ timestamp: { seconds, nanos } }));
    // int64 nanoseconds span -9223372036.854775808 s .. 9223372036.854775807 s.
    expect(at(-9_223_372_036n, 0)).toEqual([]);
    expect(at(9_223_372_035n, 999_999_999)).toEqual([]);
    expect(at(0n, 0)).toEqual([]);
    expect(at(-9_223_372_037n, 999_999_999)).toEqual(["event.timestamp"]);
    expect(at(9_223_372_037n, 0)).toEqual(["event.timestamp"]);
    expect(at(253_402_300_800n, 0)).toEqual(["event.timestamp"]); // year 10000
    expect(at(-(2n ** 63n), 0)).toEqual(["event.timestamp"]);
  });
});
