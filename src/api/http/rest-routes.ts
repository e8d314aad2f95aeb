import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import type { FastifyInstance } from "fastify";
import type { Event } from "../../../gen/chaukas/spec/common/v1/events_pb.ts";
import { CapabilitiesSchema, QueryRequestSchema } from "../../../gen/chaukas/spec/common/v1/query_pb.ts";
import { eventFromRestJson, eventToRestJson, fromRestJson, toRestJson } from "../../codec/formats/rest-json.ts";
import { type RejectedEvent, withEarlierRejections } from "../../core/batch-outcome.ts";
import { fromStoredEvent } from "../../core/event-record.ts";
import { snakeCase } from "../../core/event-rules.ts";
import { type EventService, tenantOf } from "../../core/event-service.ts";
import { type FieldViolation, InvalidArgumentError } from "../../lib/errors.ts";
import type { Metrics } from "../../lib/metrics.ts";
import { restBatchAnswer } from "./batch-answers.ts";
import { principalOfRequest } from "./http-auth.ts";
import { httpErrorHandler } from "./http-errors.ts";
import { openApiDocument } from "./openapi.ts";

/** Properties the published OpenAPI document marks as required on an Event. */
const REQUIRED_EVENT_PROPERTIES = ["event_id", "type", "status", "timestamp", "session_id"];

/**
 * The spec's public REST API ("Chaukas Public API" 1.0.5) in its own JSON shape (see
 * codec/formats/rest-json.ts), and the OpenAPI document that describes it at /openapi.json.
 */
export async function restRoutes(
  app: FastifyInstance,
  { events, metrics }: { events: EventService; metrics: Metrics },
): Promise<void> {
  httpErrorHandler(app);
  // Fastify reads text/plain as a string by default; the API takes JSON only (415 otherwise).
  app.removeContentTypeParser("text/plain");
  app.addHook("onRoute", (route) => {
    route.config = { ...route.config, api: "rest" };
  });

  const openApi = openApiDocument();
  app.get("/openapi.json", { config: { public: true } }, async () => openApi);

  // The process is alive: a liveness probe must not restart a server because its database is away
  // (GET /readyz says whether to send it traffic).
  app.get("/healthz", { config: { public: true } }, async () => ({ status: "ok" }));

  // Every capability is listed, false ones too (protobuf JSON would omit them).
  app.get("/v1/capabilities", async (request) =>
    toRestJson(CapabilitiesSchema, await events.capabilities(principalOfRequest(request)), {
      alwaysEmitImplicit: true,
    }),
  );

  app.post("/v1/events", async (request, reply) => {
    const event = parseEvent(request.body as JsonValue, "");
    metrics.eventsReceived("rest", 1);
    await events.ingestEvent(principalOfRequest(request), event, "");
    return reply.code(202).send({ event_id: event.eventId, status: "accepted", processed_at: Date.now() });
  });

  app.post("/v1/events/batch", async (request, reply) => {
    const body = request.body as JsonObject | null;
    if (!isObject(body) || !Array.isArray(body.events)) {
      throw new InvalidArgumentError([{ field: "events", description: "is required and must be an array" }]);
    }
    metrics.eventsReceived("rest", body.events.length);
    // An event that cannot even be parsed is rejected alone; the domain checks the others.
    const parsed: Event[] = [];
    const indexes: number[] = [];
    const unparsed: RejectedEvent[] = [];
    for (const [index, json] of body.events.entries()) {
      try {
        parsed.push(parseEvent(json, `events[${index}]`));
        indexes.push(index);
      } catch (err) {
        if (!(err instanceof InvalidArgumentError)) throw err;
        metrics.eventsRejected("invalid", tenantOf(principalOfRequest(request)), 1);
        const id = isObject(json) && typeof json.event_id === "string" && json.event_id ? json.event_id : `#${index}`;
        unparsed.push({ index, eventId: id, reason: err.message });
      }
    }
    const outcome = await events.ingestBatch(principalOfRequest(request), parsed, "events", indexes);
    const batchId = typeof body.batch_id === "string" ? body.batch_id : "";
    return reply.code(202).send(restBatchAnswer(batchId, withEarlierRejections(outcome, unparsed)));
  });

  app.post("/v1/query", async (request) => {
    const body = request.body as JsonValue;
    if (!isObject(body) || !isObject(body.filter)) {
      throw new InvalidArgumentError([{ field: "filter", description: "is required" }]);
    }
    const page = await events.queryEvents(principalOfRequest(request), fromRestJson(QueryRequestSchema, body), "");
    return {
      events: page.events.map((event) => eventToRestJson(fromStoredEvent(event))),
      next_page_token: page.nextPageToken,
    };
  });
}

/**
 * Parses one REST event: the properties the published API requires, then its JSON shape. A
 * camelCase property (`sessionId`, as protobuf JSON spells it) is named with its REST spelling.
 */
function parseEvent(json: JsonValue, path: string): Event {
  const at = (name: string) => (path ? `${path}.${name}` : name);
  const camel: FieldViolation[] = Object.keys(isObject(json) ? json : {})
    .filter((name) => /[A-Z]/.test(name))
    .map((name) => ({
      field: at(name),
      description: `is not a REST property: the REST API spells it ${snakeCase(name)}`,
    }));
  const missing: FieldViolation[] = REQUIRED_EVENT_PROPERTIES.filter(
    (name) => !isObject(json) || json[name] === undefined || json[name] === null || json[name] === "",
  ).map((name) => ({ field: at(name), description: "is required" }));
  if (camel.length + missing.length > 0) throw new InvalidArgumentError([...camel, ...missing]);
  return eventFromRestJson(json, path);
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
