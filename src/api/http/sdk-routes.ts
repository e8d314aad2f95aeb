import { type DescMessage, fromBinary, fromJson, type JsonValue, type MessageShape } from "@bufbuild/protobuf";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { IngestEventBatchWireSchema, IngestEventWireSchema } from "../../../gen/chaukas/backend/v1/ingest_wire_pb.ts";
import {
  IngestEventBatchRequestSchema,
  IngestEventRequestSchema,
} from "../../../gen/chaukas/spec/client/v1/client_pb.ts";
import { jsonRegistry } from "../../codec/formats/registry.ts";
import { ONE_ACCEPTED } from "../../core/batch-outcome.ts";
import type { EventService } from "../../core/event-service.ts";
import { requestEventBytes } from "../../core/event-wire.ts";
import { InvalidArgumentError } from "../../lib/errors.ts";
import type { Metrics } from "../../lib/metrics.ts";
import { sdkBatchAnswer } from "./batch-answers.ts";
import { principalOfRequest } from "./http-auth.ts";
import { httpErrorHandler } from "./http-errors.ts";

export interface SdkRoutesOptions {
  events: EventService;
  metrics: Metrics;
}

const PROTOBUF_TYPES = ["application/x-protobuf", "application/protobuf", "application/octet-stream"];

/**
 * The routes the Python SDK (chaukas-sdk) posts to: `{endpoint}/events` with a binary
 * chaukas.spec.client.v1.IngestEventRequest and `{endpoint}/events/batch` with an
 * IngestEventBatchRequest. The same messages are accepted as protobuf JSON. Register it with
 * Fastify's `prefix` to serve an endpoint such as `https://host/api`.
 */
export async function sdkRoutes(app: FastifyInstance, { events, metrics }: SdkRoutesOptions): Promise<void> {
  app.addContentTypeParser(PROTOBUF_TYPES, { parseAs: "buffer" }, (_req, body, done) => done(null, body));
  httpErrorHandler(app);
  // Fastify reads text/plain as a string by default; the SDK sends protobuf or JSON (415 otherwise).
  app.removeContentTypeParser("text/plain");
  app.addHook("onRoute", (route) => {
    route.config = { ...route.config, api: "sdk" };
  });

  app.post("/events", async (request) => {
    // A binary request keeps its event as bytes, for the event service to read (event-wire.ts).
    const event = Buffer.isBuffer(request.body)
      ? requestEventBytes(decodeBody(IngestEventWireSchema, request, IngestEventRequestSchema.typeName).event)
      : decodeBody(IngestEventRequestSchema, request).event;
    metrics.eventsReceived("sdk", 1);
    await events.ingestEvent(principalOfRequest(request), event);
    return sdkBatchAnswer(ONE_ACCEPTED);
  });

  app.post("/events/batch", async (request) => {
    // A binary batch keeps its events as bytes, for the event service to read (event-wire.ts).
    const { eventBatch } = Buffer.isBuffer(request.body)
      ? decodeBody(IngestEventBatchWireSchema, request, IngestEventBatchRequestSchema.typeName)
      : decodeBody(IngestEventBatchRequestSchema, request);
    metrics.eventsReceived("sdk", eventBatch?.events.length ?? 0);
    const outcome = await events.ingestBatch(principalOfRequest(request), eventBatch?.events ?? []);
    return { batch_id: eventBatch?.batchId ?? "", ...sdkBatchAnswer(outcome) };
  });
}

/**
 * Binary protobuf, or protobuf JSON (already parsed by Fastify), into the request message;
 * errors name the message as `typeName` (a wire twin's spec message).
 */
function decodeBody<Desc extends DescMessage>(
  schema: Desc,
  request: FastifyRequest,
  typeName = schema.typeName,
): MessageShape<Desc> {
  try {
    if (Buffer.isBuffer(request.body)) return fromBinary(schema, request.body);
    return fromJson(schema, (request.body ?? {}) as JsonValue, { registry: jsonRegistry });
  } catch (err) {
    throw new InvalidArgumentError([
      { field: "body", description: `is not a valid ${typeName}: ${(err as Error).message}` },
    ]);
  }
}
