import { create, toBinary, toJsonString } from "@bufbuild/protobuf";
import { Code, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChaukasServerService, IngestEventRequestSchema } from "../../../gen/chaukas/spec/server/v1/server_pb.ts";
import { eventService } from "../../../src/app.ts";
import type { AuditTrail } from "../../../src/core/audit/audit-trail.ts";
import type { EventService } from "../../../src/core/event-service.ts";
import { testAuditTrail } from "../../support/audit.ts";
import { openTestStore } from "../../support/databases.ts";
import { makeEvent } from "../../support/events.ts";
import { chunk, LAST_CHUNK, RawHttp1Connection } from "./raw-http1.ts";
import { connectClient, connectErrorOf, expectStillServing, postRaw, SERVICES } from "./rpc.ts";
import { type Served, serve } from "./serve.ts";

/** A small body limit, so that going over it is cheap. */
const LIMIT = 64 * 1024;
/** An event whose encoding is `size` bytes or a little more. */
const eventOfSize = (size: number) => makeEvent({ metadata: { padding: "p".repeat(size) } });
const tooBig = () => create(IngestEventRequestSchema, { event: eventOfSize(LIMIT + 1024) });

let events: EventService;
let served: Served;
let port: number;
let closeStore: () => Promise<void>;
let audit: AuditTrail;

beforeAll(async () => {
  const test = await openTestStore("embedded");
  closeStore = test.close;
  events = eventService(test.store);
  audit = testAuditTrail(test.store);
  served = await serve(events, { audit, maxBodyBytes: LIMIT });
  port = Number(new URL(served.baseUrl).port);
});
afterAll(async () => {
  await served?.closeGracefully(10_000);
  await closeStore?.();
});

const stillServing = () => expectStillServing(connectClient(ChaukasServerService, served.baseUrl));

describe(`a request body over maxBodyBytes (${LIMIT} bytes)`, () => {
  it.each(SERVICES.map((s) => [s.typeName, s] as const))(
    "%s: is refused with resource_exhausted (HTTP 429) when sent with a Content-Length, binary or JSON",
    async (_name, service) => {
      const request = tooBig();
      const bodies = [
        [toBinary(IngestEventRequestSchema, request), "application/proto"],
        [toJsonString(IngestEventRequestSchema, request), "application/json"],
      ] as const;
      for (const [body, contentType] of bodies) {
        const answer = await postRaw(served.baseUrl, service, "IngestEvent", body, contentType);
        expect(answer, contentType).toMatchObject({ status: 429, json: { code: "resource_exhausted" } });
        expect(answer.json?.message).toContain(String(LIMIT));
      }
      await stillServing();
    },
  );

  it("is not confused with a body just under the limit, which is stored", async () => {
    const client = connectClient(ChaukasServerService, served.baseUrl);
    const event = eventOfSize(LIMIT - 1024);
    expect(toBinary(IngestEventRequestSchema, create(IngestEventRequestSchema, { event })).length).toBeLessThan(LIMIT);
    await expect(client.ingestEvent({ event })).resolves.toMatchObject({ status: "accepted" });
  });

  it("is refused with resource_exhausted when streamed chunked, without a Content-Length", async () => {
    const conn = await RawHttp1Connection.open(port);
    try {
      sendChunkedOversize(conn);
      const answer = await conn.nextResponse();
      expect(answer).toMatchObject({ status: 429 });
      expect(JSON.parse((answer as { body: string }).body)).toMatchObject({ code: "resource_exhausted" });
    } finally {
      conn.destroy();
    }
    await stillServing();
  });

  it("is refused with resource_exhausted from a real Connect client, over HTTP/1.1 and HTTP/2", async () => {
    for (const httpVersion of ["1.1", "2"] as const) {
      await withH2Session(served.baseUrl, async (sessionManager) => {
        const transport =
          httpVersion === "2"
            ? createConnectTransport({ baseUrl: served.baseUrl, httpVersion, sessionManager })
            : createConnectTransport({ baseUrl: served.baseUrl, httpVersion });
        const client = createClient(ChaukasServerService, transport);
        const err = await connectErrorOf(() => client.ingestEvent(tooBig()));
        expect(Code[err.code], `HTTP/${httpVersion}`).toBe(Code[Code.ResourceExhausted]);
        await expect(client.ingestEvent({ event: makeEvent() })).resolves.toMatchObject({ status: "accepted" });
      });
    }
  });

  it("is refused with RESOURCE_EXHAUSTED over gRPC on HTTP/2, and the same session serves the next call", async () => {
    await withH2Session(served.baseUrl, async (sessionManager) => {
      const client = createClient(
        ChaukasServerService,
        createGrpcTransport({ baseUrl: served.baseUrl, sessionManager }),
      );
      const err = await connectErrorOf(() => client.ingestEvent(tooBig()));
      expect(Code[err.code]).toBe(Code[Code.ResourceExhausted]);
      await expect(client.ingestEvent({ event: makeEvent() })).resolves.toMatchObject({ status: "accepted" });
    });
    await stillServing();
  });
});

/**
 * The server stops reading a body once it is over the limit. What it has not read must not pin the
 * connection or stream: each case runs on a server of its own, which must then close gracefully.
 */
describe("after refusing a large body it has not read to the end", () => {
  /**
   * Runs `send` against a fresh server, then requires a graceful close (liveness bound: 5 s).
   * `send` may return what to do once the close is over, e.g. end a client session it kept open.
   */
  async function thenClosesGracefully(send: (server: Served) => Promise<(() => void) | undefined>) {
    const own = await serve(events, { audit, maxBodyBytes: LIMIT });
    let afterClose: (() => void) | undefined;
    try {
      afterClose = await send(own);
      expect(await own.closeGracefully(5_000), "graceful close finished").toBe(true);
    } finally {
      afterClose?.();
      await own.closeGracefully(5_000);
    }
  }

  it("HTTP/1.1 chunked: the connection serves the next request or is closed, and the server closes", async () => {
    await thenClosesGracefully(async (own) => {
      const conn = await RawHttp1Connection.open(Number(new URL(own.baseUrl).port));
      sendChunkedOversize(conn);
      expect(await conn.nextResponse()).toMatchObject({ status: 429 });
      conn.write(
        `POST /${ChaukasServerService.typeName}/Healthz HTTP/1.1\r\nHost: test\r\n` +
          "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
      );
      const next = await conn.nextResponse(5_000);
      // Either is fine: answering the next request, or closing after the refusal; not silence.
      expect(next).not.toBe("silence");
      if (next !== "closed") expect(next).toMatchObject({ status: 200 });
      return () => conn.destroy();
    });
  });

  // A long-lived HTTP/2 client (as gRPC clients are) keeps its session open while the server closes.
  async function sessionKeptAfterCall(protocol: "gRPC" | "Connect", size: number) {
    await thenClosesGracefully(async (own) => {
      const sessionManager = new Http2SessionManager(own.baseUrl);
      const options = { baseUrl: own.baseUrl, sessionManager };
      const transport =
        protocol === "gRPC" ? createGrpcTransport(options) : createConnectTransport({ ...options, httpVersion: "2" });
      const client = createClient(ChaukasServerService, transport);
      const call = client.ingestEvent({ event: eventOfSize(size) });
      if (size > LIMIT) expect((await connectErrorOf(() => call)).code).toBe(Code.ResourceExhausted);
      else await expect(call).resolves.toMatchObject({ status: "accepted" });
      return () => sessionManager.abort();
    });
  }

  it("gRPC over HTTP/2, the client keeping its session after a call within the limit (baseline): the server closes", () =>
    sessionKeptAfterCall("gRPC", 1024));

  it.each([
    ["gRPC", 16 * LIMIT],
    ["Connect", 16 * LIMIT],
  ] as const)(
    "%s over HTTP/2, the client keeping its session after a refused call: the server closes",
    (protocol, size) => sessionKeptAfterCall(protocol, size),
  );
});

/** Runs `use` with an HTTP/2 session manager, then ends the client's session (before any server close). */
async function withH2Session(baseUrl: string, use: (sessionManager: Http2SessionManager) => Promise<void>) {
  const sessionManager = new Http2SessionManager(baseUrl);
  try {
    await use(sessionManager);
  } finally {
    sessionManager.abort();
  }
}

/**
 * An IngestEvent request with a chunked body of 16 × LIMIT bytes, sent whole: far more than the
 * server reads before it refuses, as a client streaming a large upload would send.
 */
function sendChunkedOversize(conn: RawHttp1Connection) {
  conn.write(
    `POST /${ChaukasServerService.typeName}/IngestEvent HTTP/1.1\r\nHost: test\r\n` +
      "Content-Type: application/proto\r\nTransfer-Encoding: chunked\r\n\r\n",
  );
  for (let i = 0; i < 64; i++) conn.write(chunk(new Uint8Array(LIMIT / 4)));
  conn.write(LAST_CHUNK);
}
