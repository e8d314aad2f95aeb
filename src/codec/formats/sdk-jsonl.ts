import { fromJson, type JsonObject, toJson } from "@bufbuild/protobuf";
import { type Event, EventSchema } from "../../../gen/chaukas/spec/common/v1/events_pb.ts";
import { jsonRegistry } from "./registry.ts";

/**
 * The Python SDK's file mode: one Event per line, protobuf JSON with proto field names
 * (snake_case), full enum names, int64 as strings, and `timestamp` as a naive ISO-8601 string that
 * means UTC (`2025-01-31T12:00:00.123456`). Export writes the same shape, keeping nanoseconds when
 * an event has them, so export then import is lossless.
 */

/** Timestamp fields the SDK may write without a zone. */
const NAIVE_TIME_FIELDS = ["timestamp"];
const HAS_ZONE = /(Z|[+-]\d\d:?\d\d)$/i;

export function parseSdkLine(line: string): Event {
  const json = JSON.parse(line) as unknown;
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new Error("a line must hold one JSON object");
  }
  const obj = json as JsonObject;
  for (const field of NAIVE_TIME_FIELDS) {
    const value = obj[field];
    if (typeof value === "string" && !HAS_ZONE.test(value)) obj[field] = `${value}Z`;
  }
  return fromJson(EventSchema, obj, { registry: jsonRegistry });
}

export function formatSdkLine(event: Event): string {
  const json = toJson(EventSchema, event, { useProtoFieldName: true, registry: jsonRegistry }) as JsonObject;
  for (const field of NAIVE_TIME_FIELDS) {
    const value = json[field];
    if (typeof value === "string") json[field] = value.replace(/Z$/, "");
  }
  return JSON.stringify(json);
}
