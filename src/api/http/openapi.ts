import type { DescEnum, DescField, DescMessage, JsonObject } from "@bufbuild/protobuf";
import { EventBatchSchema, EventSchema } from "../../../gen/chaukas/spec/common/v1/events_pb.ts";
import {
  CapabilitiesSchema,
  QueryRequestSchema,
  QueryResponseSchema,
} from "../../../gen/chaukas/spec/common/v1/query_pb.ts";
import { CONTENT_FIELD_OF_KIND } from "../../codec/formats/rest-json.ts";

/**
 * The OpenAPI 3.0.3 document of the public REST API, derived from the protobuf descriptors so it
 * cannot drift from the protos: snake_case properties, bare enum names, RFC 3339 timestamps, and
 * Event's content union as `content` with a `kind` discriminator.
 */
export function openApiDocument(): JsonObject {
  const schemas: Record<string, JsonObject> = {};
  const define: Define = (name, schema) => {
    schemas[name] = schema;
    return refTo(name);
  };
  const ref = (message: DescMessage): JsonObject => {
    if (!schemas[message.name]) {
      schemas[message.name] = {}; // placeholder first: messages may refer to themselves
      schemas[message.name] = messageSchema(message, ref, define);
    }
    return refTo(message.name);
  };
  for (const message of [EventSchema, EventBatchSchema, QueryRequestSchema, QueryResponseSchema, CapabilitiesSchema]) {
    ref(message);
  }
  Object.assign(schemas, {
    Error: object({
      error: { type: "string", example: "invalid_argument" },
      message: { type: "string" },
      violations: {
        type: "array",
        items: object({ field: { type: "string", example: "events[0].session_id" }, description: { type: "string" } }),
      },
    }),
    IngestEventResult: object({
      event_id: { type: "string" },
      status: { type: "string", example: "accepted" },
      processed_at: { type: "integer", format: "int64", description: "Epoch milliseconds." },
    }),
    IngestBatchResult: object({
      batch_id: { type: "string" },
      accepted_count: { type: "integer" },
      rejected_count: { type: "integer" },
      rejected_event_ids: { type: "array", items: { type: "string" } },
      rejections: { type: "array", items: object({ event_id: { type: "string" }, reason: { type: "string" } }) },
    }),
  });
  schemas.Event.required = ["event_id", "type", "status", "timestamp", "session_id"];
  schemas.EventBatch.required = ["events"];
  schemas.QueryRequest.required = ["filter"];

  const json = (schema: JsonObject) => ({ content: { "application/json": { schema } } });
  const errors = {
    "400": { description: "Invalid input; each bad field is listed.", ...json(refTo("Error")) },
    "503": {
      description: 'Over the ingest bound ("high memory usage") or the database is unreachable. See Retry-After.',
      ...json(refTo("Error")),
    },
  };
  return {
    openapi: "3.0.3",
    info: { title: "Chaukas Public API", version: "1.0.5" },
    paths: {
      "/healthz": {
        get: {
          summary: "Liveness: the process answers (it does not ask the database; /readyz does)",
          responses: { "200": { description: "OK" } },
        },
      },
      "/v1/capabilities": {
        get: {
          summary: "What this server supports",
          responses: { "200": { description: "OK", ...json(refTo("Capabilities")) } },
        },
      },
      "/v1/events": {
        post: {
          summary: "Ingest one event",
          requestBody: { required: true, ...json(refTo("Event")) },
          responses: { "202": { description: "Stored", ...json(refTo("IngestEventResult")) }, ...errors },
        },
      },
      "/v1/events/batch": {
        post: {
          summary: "Ingest a batch; valid events are stored, invalid ones listed",
          requestBody: { required: true, ...json(refTo("EventBatch")) },
          responses: { "202": { description: "Stored", ...json(refTo("IngestBatchResult")) }, ...errors },
        },
      },
      "/v1/query": {
        post: {
          summary: "Query events",
          requestBody: { required: true, ...json(refTo("QueryRequest")) },
          responses: {
            "200": { description: "A page of events", ...json(refTo("QueryResponse")) },
            "400": errors["400"],
          },
        },
      },
    },
    components: { schemas },
  };
}

/** Adds a named schema to components.schemas and returns a $ref to it. */
type Define = (name: string, schema: JsonObject) => JsonObject;

function messageSchema(message: DescMessage, ref: (m: DescMessage) => JsonObject, define: Define): JsonObject {
  const properties: Record<string, JsonObject> = {};
  for (const field of message.fields) {
    if (field.oneof && message.typeName === EventSchema.typeName) continue;
    properties[field.name] = fieldSchema(field, ref);
  }
  if (message.typeName === EventSchema.typeName) {
    properties.content = contentSchema(ref, define);
    properties.extensions = {
      type: "array",
      description: "google.protobuf.Any values, carried raw so no type registry is needed.",
      items: object({ type_url: { type: "string" }, value: { type: "string", format: "byte" } }),
    };
  }
  return object(properties);
}

/**
 * Each variant is a named schema (`ContentToolCall`, ...) that the discriminator maps its `kind`
 * to: an OpenAPI 3.0 discriminator only considers schemas reached through $ref.
 */
function contentSchema(ref: (m: DescMessage) => JsonObject, define: Define): JsonObject {
  const mapping: Record<string, string> = {};
  const variants = Object.entries(CONTENT_FIELD_OF_KIND).map(([kind, fieldName]): JsonObject => {
    const field = EventSchema.fields.find((f) => f.name === fieldName);
    if (field?.fieldKind !== "message") throw new Error(`no content field ${fieldName}`);
    const kindProperty = { kind: { type: "string", enum: [kind] } };
    const variant: JsonObject =
      field.message.typeName === "google.protobuf.Struct"
        ? { ...object({ ...kindProperty, data: { type: "object", additionalProperties: true } }), required: ["kind"] }
        : { allOf: [ref(field.message), { ...object(kindProperty), required: ["kind"] }] };
    const name = `Content${kind.replace(/(^|_)([a-z])/g, (_match, _sep, c: string) => c.toUpperCase())}`;
    const reference = define(name, variant);
    mapping[kind] = reference.$ref as string;
    return reference;
  });
  return {
    description:
      'The event\'s content, one of several kinds. "state_update" (Event.state_update, in `data`) extends the published API.',
    oneOf: variants,
    discriminator: { propertyName: "kind", mapping },
  };
}

function fieldSchema(field: DescField, ref: (m: DescMessage) => JsonObject): JsonObject {
  switch (field.fieldKind) {
    case "scalar":
      return scalarSchema(field.scalar);
    case "enum":
      return enumSchema(field.enum);
    case "message":
      return wellKnownSchema(field.message) ?? ref(field.message);
    case "list":
      return {
        type: "array",
        items:
          field.listKind === "scalar"
            ? scalarSchema(field.scalar)
            : field.listKind === "enum"
              ? enumSchema(field.enum)
              : (wellKnownSchema(field.message) ?? ref(field.message)),
      };
    case "map":
      return { type: "object", additionalProperties: field.mapKind === "scalar" ? scalarSchema(field.scalar) : {} };
  }
}

function wellKnownSchema(message: DescMessage): JsonObject | undefined {
  if (message.typeName === "google.protobuf.Timestamp") return { type: "string", format: "date-time" };
  if (message.typeName === "google.protobuf.Struct") return { type: "object", additionalProperties: true };
  return undefined;
}

/** Scalar numbers as protobuf-es numbers them (ScalarType). */
function scalarSchema(scalar: number): JsonObject {
  switch (scalar) {
    case 1: // double
    case 2: // float
      return { type: "number" };
    case 8: // bool
      return { type: "boolean" };
    case 9: // string
      return { type: "string" };
    case 12: // bytes
      return { type: "string", format: "byte" };
    case 3: // int64
    case 4: // uint64
      return { type: "string", format: "int64" };
    default:
      return { type: "integer", format: "int32" };
  }
}

function enumSchema(schema: DescEnum): JsonObject {
  return { type: "string", enum: schema.values.map((v) => v.localName) };
}

function object(properties: Record<string, JsonObject>): JsonObject {
  return { type: "object", properties };
}

function refTo(name: string): JsonObject {
  return { $ref: `#/components/schemas/${name}` };
}
