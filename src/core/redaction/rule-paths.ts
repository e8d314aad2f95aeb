import type { DescField, DescMessage } from "@bufbuild/protobuf";
import { EventSchema } from "../../../gen/chaukas/spec/common/v1/events_pb.ts";

/**
 * Where a rule path can go on from: the messages whose fields its next name must be, "keys" below a
 * Struct (its keys are the sender's), or "end" after a field that holds no fields.
 */
type Place = DescMessage | "keys" | "end";

/** The content oneof's messages: a path's first name `content` stands for whichever the event has. */
const CONTENT_MESSAGES: Place[] =
  EventSchema.oneofs
    .find((oneof) => oneof.localName === "content")
    ?.fields.flatMap((field) => (field.message ? [field.message] : [])) ?? [];

const FREE_FORM = new Set(["google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue"]);

/**
 * Why a field rule's path names no place an event has, or undefined when it names one: each name a
 * proto field of the message before it (the event's at first, any content's after `content`),
 * down to a Struct, whose keys are free. A mistyped path would otherwise redact nothing, silently.
 */
export function rulePathProblem(path: string): string | undefined {
  if (/[[\]]/.test(path)) return "takes no list indexes: a rule covers every item of a list";
  const names = path.split(".");
  if (names.includes("")) return "is not a path";
  let places: Place[] = [EventSchema];
  for (const [i, name] of names.entries()) {
    if (places.includes("keys")) return undefined;
    if (i === 0 && name === "content") {
      places = CONTENT_MESSAGES;
      continue;
    }
    const next = places.flatMap((place) => {
      const field = typeof place === "string" ? undefined : place.fields.find((f) => f.name === name);
      return field ? [placeAfter(field)] : [];
    });
    if (next.length === 0) return `has no field "${name}"${i === 0 ? "" : ` in ${names.slice(0, i).join(".")}`}`;
    places = next;
  }
  return undefined;
}

function placeAfter(field: DescField): Place {
  const message =
    field.fieldKind === "message" || (field.fieldKind === "list" && field.listKind === "message")
      ? field.message
      : undefined;
  if (!message) return "end";
  return FREE_FORM.has(message.typeName) ? "keys" : message;
}
