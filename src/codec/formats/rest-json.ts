import {
  create,
  type DescEnum,
  type DescMessage,
  fromJson,
  type JsonObject,
  type JsonValue,
  type MessageShape,
  toJson,
} from "@bufbuild/protobuf";
import { type Any, AnySchema } from "@bufbuild/protobuf/wkt";
import { type Event, EventSchema } from "../../../gen/chaukas/spec/common/v1/events_pb.ts";
import { type FieldViolation, InvalidArgumentError } from "../../lib/errors.ts";
import { jsonWritable } from "../json-unwritable.ts";

/**
 * The JSON shape of the spec's public REST API (OpenAPI "Chaukas Public API" 1.0.5), which differs
 * from the protobuf JSON mapping: snake_case names, bare enum names (`SESSION_START`, `ASC`), RFC 3339
 * timestamps, and Event's content oneof as one `content` object with a `kind` discriminator.
 * Two additions keep it lossless (both documented in the OpenAPI document this server serves):
 * `content.kind = "state_update"` carries Event.state_update in `content.data`, and `extensions`
 * are `{type_url, value}` with the value in base64, so no type registry is needed.
 */

/** Event.content oneof field -> REST `content.kind`. */
const KIND_OF_CONTENT: Record<string, string> = {
  message: "message",
  tool_call: "tool_call",
  tool_response: "tool_response",
  llm_invocation: "llm_invocation",
  policy: "policy_decision",
  data_access: "data_access",
  state_update: "state_update",
  error: "error_info",
  agent_handoff: "agent_handoff",
  mcp_call: "mcp_call",
};
/** REST `content.kind` -> Event.content oneof field. */
export const CONTENT_FIELD_OF_KIND: Record<string, string> = Object.fromEntries(
  Object.entries(KIND_OF_CONTENT).map(([field, kind]) => [kind, field]),
);
const CONTENT_KINDS = Object.keys(CONTENT_FIELD_OF_KIND);

type Violations = FieldViolation[];

/**
 * A message without Events in it (Capabilities, QueryRequest) as REST JSON. `alwaysEmitImplicit`
 * writes fields at their zero value too (Capabilities: a `false` is an answer, not an absence).
 */
export function toRestJson<Desc extends DescMessage>(
  schema: Desc,
  message: MessageShape<Desc>,
  { alwaysEmitImplicit = false } = {},
): JsonObject {
  return restShape(schema, toJson(schema, message, { useProtoFieldName: true, alwaysEmitImplicit })) as JsonObject;
}

/**
 * One Event as REST JSON. Extensions travel raw; NaN and ±Infinity Value numbers are written as
 * strings (json-unwritable.ts), changed in the event itself.
 */
export function eventToRestJson(event: Event): JsonObject {
  const json = toRestJson(EventSchema, jsonWritable(EventSchema, { ...event, extensions: [] }));
  if (event.extensions.length > 0) {
    json.extensions = event.extensions.map((any) => ({
      type_url: any.typeUrl,
      value: Buffer.from(any.value).toString("base64"),
    }));
  }
  return json;
}

/** Parses REST JSON into a message; a malformed body throws InvalidArgumentError naming the field. */
export function fromRestJson<Desc extends DescMessage>(schema: Desc, json: JsonValue, path = ""): MessageShape<Desc> {
  const violations: Violations = [];
  const protoJson = protoShape(schema, json, path, violations);
  if (violations.length > 0) throw new InvalidArgumentError(violations);
  try {
    return fromJson(schema, protoJson);
  } catch (err) {
    // Name each field fromJson refuses, not just the body.
    const located = fieldErrors(schema, protoJson, path);
    throw new InvalidArgumentError(
      located.length > 0 ? located : [{ field: path || "body", description: (err as Error).message }],
    );
  }
}

/** On the error path only: decodes the fields one at a time to name each one fromJson refuses. */
function fieldErrors(schema: DescMessage, json: JsonValue, path: string): Violations {
  if (!isObject(json) || isWellKnown(schema)) return [];
  const violations: Violations = [];
  for (const [key, value] of Object.entries(json)) {
    const fieldPath = path ? `${path}.${key}` : key;
    try {
      fromJson(schema, { [key]: value });
    } catch (err) {
      const field = schema.fields.find((f) => f.name === key || f.jsonName === key);
      let nested: Violations = [];
      if (field?.fieldKind === "message") nested = fieldErrors(field.message, value, fieldPath);
      if (field?.fieldKind === "list" && field.listKind === "message" && Array.isArray(value)) {
        nested = value.flatMap((v, i) => fieldErrors(field.message, v, `${fieldPath}[${i}]`));
      }
      violations.push(...(nested.length > 0 ? nested : [{ field: fieldPath, description: (err as Error).message }]));
    }
  }
  return violations;
}

/** One Event in REST JSON: its content union unwrapped and its raw extensions decoded. */
export function eventFromRestJson(json: JsonValue, path = ""): Event {
  const at = (field: string) => (path ? `${path}.${field}` : field);
  if (!isObject(json)) throw new InvalidArgumentError([{ field: path || "body", description: "must be an object" }]);
  const { content, extensions, ...rest } = json;
  const violations: Violations = [];
  let contentField: string | undefined;
  if (content !== undefined && content !== null) {
    const kind = isObject(content) ? content.kind : undefined;
    const field = typeof kind === "string" ? CONTENT_FIELD_OF_KIND[kind] : undefined;
    if (!isObject(content) || !field) {
      violations.push({ field: at("content.kind"), description: `must be one of ${CONTENT_KINDS.join(", ")}` });
    } else {
      const { kind: _, ...fields } = content;
      rest[field] = field === "state_update" ? (fields.data ?? {}) : fields;
      contentField = field;
    }
  }
  const anys = restExtensions(extensions, at("extensions"), violations);
  if (violations.length > 0) throw new InvalidArgumentError(violations);
  let event: Event;
  try {
    event = fromRestJson(EventSchema, rest, path);
  } catch (err) {
    if (!(err instanceof InvalidArgumentError) || !contentField) throw err;
    // Name a bad content field as the client wrote it (`content.text`), not by its oneof field (`message.text`).
    const from = at(contentField);
    const to = at(contentField === "state_update" ? "content.data" : "content");
    const renamed = err.violations.map((v) =>
      v.field === from || v.field.startsWith(`${from}.`) || v.field.startsWith(`${from}[`)
        ? { ...v, field: to + v.field.slice(from.length) }
        : v,
    );
    throw new InvalidArgumentError(renamed);
  }
  event.extensions = anys;
  return event;
}

/** Any in protobuf JSON needs a type registry; REST carries `{type_url, value: base64}` instead. */
function restExtensions(json: JsonValue | undefined, field: string, violations: Violations): Any[] {
  if (json === undefined || json === null) return [];
  if (!Array.isArray(json)) {
    violations.push({ field, description: "must be an array" });
    return [];
  }
  return json.flatMap((ext, i) => {
    if (!isObject(ext) || typeof ext.type_url !== "string" || typeof ext.value !== "string") {
      violations.push({ field: `${field}[${i}]`, description: "must be {type_url: string, value: base64 string}" });
      return [];
    }
    return [create(AnySchema, { typeUrl: ext.type_url, value: Buffer.from(ext.value, "base64") })];
  });
}

function restShape(schema: DescMessage, json: JsonValue): JsonValue {
  if (!isObject(json) || isWellKnown(schema)) return json;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(json)) {
    const field = schema.fields.find((f) => f.name === key);
    if (!field) {
      out[key] = value;
    } else if (field.fieldKind === "enum") {
      out[key] = bareEnumName(field.enum, value);
    } else if (field.fieldKind === "list" && field.listKind === "enum") {
      out[key] = (value as JsonValue[]).map((v) => bareEnumName(field.enum, v));
    } else if (field.fieldKind === "message") {
      out[key] = restShape(field.message, value);
    } else if (field.fieldKind === "list" && field.listKind === "message") {
      out[key] = (value as JsonValue[]).map((v) => restShape(field.message, v));
    } else {
      out[key] = value;
    }
  }
  if (schema.typeName === EventSchema.typeName) wrapEventContent(out);
  return out;
}

/** Event's content oneof field becomes `content: {kind, ...fields}`. */
function wrapEventContent(out: JsonObject): void {
  for (const [field, kind] of Object.entries(KIND_OF_CONTENT)) {
    if (!(field in out)) continue;
    const value = out[field];
    delete out[field];
    out.content = field === "state_update" ? { kind, data: value } : { kind, ...(value as JsonObject) };
  }
}

function protoShape(schema: DescMessage, json: JsonValue, path: string, violations: Violations): JsonValue {
  if (!isObject(json) || isWellKnown(schema)) return json;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(json)) {
    const field = schema.fields.find((f) => f.name === key || f.jsonName === key);
    const fieldPath = path ? `${path}.${key}` : key;
    if (!field || value === null) {
      out[key] = value;
    } else if (field.fieldKind === "enum") {
      out[key] = fullEnumName(field.enum, value, fieldPath, violations);
    } else if (field.fieldKind === "list" && field.listKind === "enum" && Array.isArray(value)) {
      out[key] = value.map((v, i) => fullEnumName(field.enum, v, `${fieldPath}[${i}]`, violations));
    } else if (field.fieldKind === "message") {
      out[key] = protoShape(field.message, value, fieldPath, violations);
    } else if (field.fieldKind === "list" && field.listKind === "message" && Array.isArray(value)) {
      out[key] = value.map((v, i) => protoShape(field.message, v, `${fieldPath}[${i}]`, violations));
    } else {
      out[key] = value;
    }
  }
  return out;
}

function bareEnumName(schema: DescEnum, value: JsonValue): JsonValue {
  return schema.values.find((v) => v.name === value)?.localName ?? value;
}

/** A bare or full enum name as the full one; an unknown name is a violation naming the field. */
function fullEnumName(schema: DescEnum, value: JsonValue, field: string, violations: Violations): JsonValue {
  if (typeof value !== "string") return value; // numbers are left to fromJson
  const known = schema.values.find((v) => v.localName === value || v.name === value);
  if (!known) {
    const names = schema.values.map((v) => v.localName).join(", ");
    violations.push({ field, description: `"${value}" is not a ${schema.name}; expected one of ${names}` });
  }
  return known?.name ?? value;
}

function isWellKnown(schema: DescMessage): boolean {
  return schema.typeName.startsWith("google.protobuf.");
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
