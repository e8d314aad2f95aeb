import { randomUUID } from "node:crypto";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Event, EventSchema } from "../../../gen/chaukas/spec/common/v1/events_pb.ts";
import { IngestEventRequestSchema } from "../../../gen/chaukas/spec/server/v1/server_pb.ts";
import { corpusEvents, DEFAULT_CORPUS } from "../../../kit/corpus.ts";
import { varintBytes, writeVarint } from "../../../src/codec/varint.ts";
import { canonicalPayload } from "../../../src/core/event-record.ts";
import { sha256 } from "../../../src/lib/bytes.ts";
import { EVERY_CONTENT, fullEvent, makeEvent } from "../../support/events.ts";
import { startTestServer, type TestServer } from "../../support/server.ts";
import {
  connectErrorOf,
  newSession,
  postRaw,
  SERVICES,
  type SpecClient,
  type SpecService,
  storedEvents,
} from "./rpc.ts";

/**
 * A binary IngestEvent is read as chaukas.backend.v1.IngestEventWire: the event's bytes go to the
 * same reader as a batch's events (event-wire.ts). Whatever the path, the answer and the stored
 * event must be those of the spec's decoding.
 */

/** The binary transports, each taking the wire route: two answered directly, two by connect-node. */
const TRANSPORTS = {
  "Connect binary": (baseUrl: string) => createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true }),
  gRPC: (baseUrl: string) => createGrpcTransport({ baseUrl }),
  "Connect binary with a deadline": (baseUrl: string) =>
    createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true, defaultTimeoutMs: 60_000 }),
  "gRPC-Web": (baseUrl: string) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1" }),
};

/** The event with the content hash the spec's decoding gives it: accepted only if the server computes the same. */
function hashed(event: Event): Event {
  return { ...event, contentHash: sha256(canonicalPayload(event)).toString("hex") };
}

/** One length-delimited field 1 (IngestEventRequest.event) holding `bytes`. */
function eventField(bytes: Uint8Array): Buffer {
  const length = Buffer.alloc(varintBytes(bytes.byteLength));
  writeVarint(length, 0, bytes.byteLength);
  return Buffer.concat([Buffer.from([0x0a]), length, bytes]);
}

describe("binary IngestEvent read from the event's bytes", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer("embedded");
  });
  afterAll(async () => {
    await server?.close();
  });

  describe.each(SERVICES.map((s) => [s.typeName, s] as const))("%s", (_name, service: SpecService) => {
    const client = (transport: keyof typeof TRANSPORTS) =>
      createClient(service, TRANSPORTS[transport](server.baseUrl)) as SpecClient;

    it.each(Object.keys(TRANSPORTS) as (keyof typeof TRANSPORTS)[])(
      "stores every kind of content and corpus events with the spec decoding's content hash (%s)",
      async (transport) => {
        const sessionId = newSession();
        const corpus = corpusEvents({ ...DEFAULT_CORPUS, expectedEvents: 40 }, 40).map((e) => ({
          ...e,
          eventId: randomUUID(),
          tenantId: "acme",
          sessionId,
        }));
        const events = [...EVERY_CONTENT.map((content) => ({ ...fullEvent(content), sessionId })), ...corpus].map(
          hashed,
        );
        const c = client(transport);
        for (const event of events) {
          const answer = await c.ingestEvent({ event });
          if (service.typeName.includes("server")) expect(answer).toMatchObject({ eventId: event.eventId });
        }
        await server.audit.integrateAndSign(); // content hashes are read back from the log
        const stored = await storedEvents(c, sessionId);
        expect(stored.map((e) => e.contentHash).sort()).toEqual(events.map((e) => e.contentHash).sort());
      },
    );

    it.each(Object.keys(TRANSPORTS) as (keyof typeof TRANSPORTS)[])(
      "refuses a content hash the event does not have, naming the field (%s)",
      async (transport) => {
        const event = hashed(makeEvent({ sessionId: newSession() }));
        const wrong = { ...event, contentHash: event.contentHash.replace(/^./, (d) => (d === "0" ? "1" : "0")) };
        const err = await connectErrorOf(() => client(transport).ingestEvent({ event: wrong }));
        expect(err.code).toBe(Code.InvalidArgument);
        expect(err.rawMessage).toContain("event.content_hash: does not match the event");
      },
    );

    it("refuses an event whose bytes are not an Event with invalid_argument, naming the field", async () => {
      // A well-formed request whose event announces more bytes than it holds.
      const body = eventField(Buffer.from([0x0a, 0x05]));
      const answer = await postRaw(server.baseUrl, service, "IngestEvent", body, "application/proto");
      expect(answer.status).toBe(400);
      expect(answer.json?.code).toBe("invalid_argument");
      expect(answer.json?.message).toMatch(/^event: is not a valid chaukas\.spec\.common\.v1\.Event: /);
      // With a deadline, answered by connect-node on the same route: the same answer.
      const res = await fetch(`${server.baseUrl}/${service.typeName}/IngestEvent`, {
        method: "POST",
        headers: { "content-type": "application/proto", "connect-timeout-ms": "60000" },
        body,
      });
      expect({ status: res.status, json: await res.json() }).toEqual(answer);
    });

    it("answers a request without an event, and one with an empty event, as the spec's decoding does", async () => {
      const missing = await postRaw(server.baseUrl, service, "IngestEvent", new Uint8Array(0), "application/proto");
      expect(missing).toMatchObject({ status: 400, json: { code: "invalid_argument", message: "event: is required" } });
      const empty = await postRaw(
        server.baseUrl,
        service,
        "IngestEvent",
        eventField(new Uint8Array(0)),
        "application/proto",
      );
      expect(empty).toMatchObject({ status: 400, json: { code: "invalid_argument" } });
      expect(empty.json?.message).toContain("event.event_id: is required");
    });

    it("stores an event sent in two parts as protobuf merges them", async () => {
      const sessionId = newSession();
      const whole = makeEvent({ sessionId, agentName: "" });
      const request = Buffer.concat([
        eventField(toBinary(EventSchema, whole)),
        eventField(toBinary(EventSchema, create(EventSchema, { agentName: "merged" }))),
      ]);
      const merged = fromBinary(IngestEventRequestSchema, request).event as Event;
      expect(merged.agentName).toBe("merged");
      const answer = await postRaw(server.baseUrl, service, "IngestEvent", request, "application/proto");
      expect(answer.status).toBe(200);
      await server.audit.integrateAndSign();
      const [stored] = await storedEvents(client("Connect binary"), sessionId);
      expect(stored).toMatchObject({ eventId: whole.eventId, agentName: "merged" });
      expect(stored.contentHash).toBe(sha256(canonicalPayload(merged)).toString("hex"));
    });
  });
});
