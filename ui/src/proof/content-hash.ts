import { clone, toBinary } from "@bufbuild/protobuf";
import { type Event, EventSchema } from "../../../gen/chaukas/spec/common/v1/events_pb.ts";
import { sha256, toHex } from "./bytes.ts";

const encoder = new TextEncoder();

/**
 * An event's content hash as the server computes it (docs/audit-trail.md): SHA-256 of its
 * deterministic binary encoding without the three integrity fields. protobuf-es writes fields in
 * number order and proto3 zero values omitted already; what it leaves to us is the order of the
 * google.protobuf.Struct entries, which must be sorted by the UTF-8 bytes of their keys. (JS objects
 * list integer-like keys first whatever the order asked, so a Struct with keys such as "10" and "9"
 * cannot be reproduced here: the page then reports a difference it cannot explain.)
 */
export async function contentHashOf(event: Event): Promise<string> {
  const copy = clone(EventSchema, event);
  copy.hashPrev = "";
  copy.contentHash = "";
  copy.wormProofId = "";
  return toHex(await sha256(toBinary(EventSchema, sortStructs(copy) as Event)));
}

/** Messages (they carry $typeName) keep their fields; the plain objects inside them are Structs. */
function sortStructs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortStructs);
  if (value === null || typeof value !== "object" || value instanceof Uint8Array) return value;
  const entries = Object.entries(value).map(([key, inner]) => [key, sortStructs(inner)] as const);
  if ("$typeName" in value) return Object.assign(value, Object.fromEntries(entries));
  return Object.fromEntries(entries.sort(([a], [b]) => compareUtf8(a, b)));
}

function compareUtf8(a: string, b: string): number {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}
