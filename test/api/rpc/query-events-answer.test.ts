import { create, type DescMessage, toBinary } from "@bufbuild/protobuf";
import { createContextValues, createHandlerContext } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ChaukasClientService } from "../../../gen/chaukas/spec/client/v1/client_pb.ts";
import { ChaukasServerService } from "../../../gen/chaukas/spec/server/v1/server_pb.ts";
import { corpusEvents, DEFAULT_CORPUS } from "../../../kit/corpus.ts";
import { grpcMessageOf } from "../../../src/api/rpc/grpc-message-answers.ts";
import { queryEventsAnswer } from "../../../src/api/rpc/query-events-answer.ts";
import { decodedQueryResponse, type EventPage } from "../../../src/core/event-page.ts";
import { storedEvent } from "../../support/events.ts";

const rows = corpusEvents({ ...DEFAULT_CORPUS, expectedEvents: 1000 }, 40).map((event, i) =>
  storedEvent(event, { position: BigInt(i), contentHash: "ab".repeat(32), hashPrev: i === 0 ? "" : "cd".repeat(32) }),
);

const PAGES: [string, EventPage][] = [
  ["an empty page", { events: [], nextPageToken: "" }],
  ["one event", { events: rows.slice(0, 1), nextPageToken: "next" }],
  ["40 events (a length of three bytes)", { events: rows, nextPageToken: "" }],
];

const METHODS = [ChaukasServerService.method.queryEvents, ChaukasClientService.method.queryEvents];

function context(method: (typeof METHODS)[number], contentType: string) {
  return createHandlerContext({
    service: method.parent,
    method,
    protocolName: "grpc",
    requestMethod: "POST",
    url: "http://127.0.0.1/",
    requestHeader: { "content-type": contentType },
    contextValues: createContextValues(),
  });
}

/** The page as protobuf-es encodes the decoded answer. */
function decodedBytes(schema: DescMessage, page: EventPage): Buffer {
  return Buffer.from(toBinary(schema, create(schema, { response: decodedQueryResponse(page) })));
}

describe.each(METHODS.map((m) => [m.parent.typeName, m] as const))("QueryEvents of %s", (_, method) => {
  it.each(PAGES)(
    "binary, %s: one gRPC message of the decoded answer's bytes, and the message encodes to them",
    (_, page) => {
      const answer = queryEventsAnswer(method.output, context(method, "application/grpc"), page);
      const expected = decodedBytes(method.output, page);
      const message = Buffer.from(grpcMessageOf(answer) ?? []);
      expect([message[0], message.readUInt32BE(1)]).toEqual([0, expected.length]);
      expect(message.subarray(5)).toEqual(expected);
      // connect-node's paths serialize the message itself.
      expect(Buffer.from(toBinary(method.output, answer))).toEqual(expected);
    },
  );

  it.each(PAGES)("JSON, %s: the events decoded, no bytes kept", (_, page) => {
    const answer = queryEventsAnswer(method.output, context(method, "application/json"), page);
    expect(grpcMessageOf(answer)).toBeUndefined();
    expect(Buffer.from(toBinary(method.output, answer))).toEqual(decodedBytes(method.output, page));
  });
});
