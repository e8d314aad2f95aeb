import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { create, toBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IngestEventBatchRequestSchema } from "../../gen/chaukas/spec/client/v1/client_pb.ts";
import { buildServer } from "../../src/api/server.ts";
import { eventService } from "../../src/app.ts";
import { KeyAuthenticator } from "../../src/core/authenticator.ts";
import { createApiKey } from "../../src/core/key-admin.ts";
import { testAuditTrail } from "../support/audit.ts";
import { openTestStore } from "../support/databases.ts";
import { makeEvent } from "../support/events.ts";
import { type HeldAnswer, HeldH1Request, HeldH2Request } from "../support/held-request.ts";
import { TEST_SERVER_OPTIONS } from "../support/server.ts";

/**
 * A caller without a valid key is refused from the headers alone, on every protocol: each request
 * here declares a body of several MB and sends only its first KiB, then holds the rest back. The
 * answer must come while the body is still held (a server that reads the body first stays silent).
 */

const BATCH = "/chaukas.spec.server.v1.ChaukasServerService/IngestEventBatch";
/** Answered by direct-unary.ts for Connect and gRPC, by connect-node for gRPC-Web. */
const SINGLE = "/chaukas.spec.server.v1.ChaukasServerService/IngestEvent";
const DECLARED = 3_900_000;
const FIRST_KIB = new Uint8Array(1024).fill(0x20);
/** A gRPC message prefix announcing a message of DECLARED bytes, then its first KiB. */
const GRPC_FIRST = Buffer.concat([grpcPrefix(DECLARED), FIRST_KIB]);

let baseUrl = "";
let secret = "";
let session: http2.ClientHttp2Session;
let close: () => Promise<void> = async () => {};

beforeAll(async () => {
  const opened = await openTestStore("embedded");
  secret = (await createApiKey(opened.store.keys, { tenantId: "acme", role: "admin", projects: [] })).secret;
  const events = eventService(opened.store, { rbac: true });
  const authenticator = new KeyAuthenticator(opened.store.keys, undefined, () => {});
  const app = await buildServer(events, { ...TEST_SERVER_OPTIONS, audit: testAuditTrail(opened.store), authenticator });
  await app.listen({ host: "127.0.0.1", port: 0 });
  baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  session = http2.connect(baseUrl);
  close = async () => {
    session.close();
    await app.close();
    await opened.close();
  };
});
afterAll(() => close());

/** The answer of a held request; fails the test if the server waited for the body. */
async function answered(request: HeldH1Request | HeldH2Request): Promise<HeldAnswer> {
  const answer = await request.answer;
  request.abort();
  if (answer === "silence") throw new Error("no answer while the body was held: the server waits for the body");
  return answer;
}

describe.each([BATCH, SINGLE])("without a key, an RPC to %s is refused before its body is read", (rpc) => {
  it("Connect JSON over HTTP/1.1: 401 unauthenticated", async () => {
    const held = new HeldH1Request(`${baseUrl}${rpc}`, connectJson(DECLARED), FIRST_KIB);
    const answer = await answered(held);
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body)).toMatchObject({ code: "unauthenticated" });
  });

  it("Connect JSON over HTTP/2: 401 unauthenticated", async () => {
    const answer = await answered(new HeldH2Request(session, { ":path": rpc, ...connectJson(DECLARED) }, FIRST_KIB));
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body)).toMatchObject({ code: "unauthenticated" });
  });

  it("Connect binary over HTTP/1.1: 401 unauthenticated", async () => {
    const headers = { "content-type": "application/proto", "content-length": String(DECLARED) };
    const answer = await answered(new HeldH1Request(`${baseUrl}${rpc}`, headers, FIRST_KIB));
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body)).toMatchObject({ code: "unauthenticated" });
  });

  it("gRPC over HTTP/2 (no content-length, as gRPC clients send): grpc-status 16", async () => {
    const headers = { ":path": rpc, "content-type": "application/grpc+proto", te: "trailers" };
    const answer = await answered(new HeldH2Request(session, headers, GRPC_FIRST));
    expect(answer.status).toBe(200);
    expect({ ...answer.headers, ...answer.trailers }).toMatchObject({ "grpc-status": "16" });
  });

  it("gRPC-Web over HTTP/1.1: grpc-status 16", async () => {
    const headers = { "content-type": "application/grpc-web+proto", "content-length": String(DECLARED + 5) };
    const answer = await answered(new HeldH1Request(`${baseUrl}${rpc}`, headers, GRPC_FIRST));
    expect(answer.status).toBe(200);
    // A trailers-only answer carries the status in its headers; otherwise it is in the trailer frame.
    expect(answer.headers["grpc-status"] ?? answer.body).toMatch(/^16$|grpc-status: ?16/);
  });
});

describe("without a key, a request is refused before its body is read", () => {
  it.each([
    ["/events/batch", "application/x-protobuf"],
    ["/v1/events/batch", "application/json"],
  ])("the plain route %s: 401 with a JSON error", async (path, contentType) => {
    const headers = { "content-type": contentType, "content-length": String(DECLARED) };
    const answer = await answered(new HeldH1Request(`${baseUrl}${path}`, headers, FIRST_KIB));
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body)).toMatchObject({ error: "unauthenticated" });
  });

  it("an unknown path: 401 rather than a body parsed for a 404", async () => {
    const headers = { "content-type": "application/json", "content-length": String(DECLARED) };
    const answer = await answered(new HeldH1Request(`${baseUrl}/no/such/route`, headers, FIRST_KIB));
    expect(answer.status).toBe(401);
  });
});

describe("with a valid key", () => {
  it("a held gRPC request is served once its body is complete, with the key's caller in the handler", async () => {
    const batch = create(IngestEventBatchRequestSchema, { eventBatch: { events: [makeEvent({ tenantId: "acme" })] } });
    const message = toBinary(IngestEventBatchRequestSchema, batch);
    const body = Buffer.concat([grpcPrefix(message.length), message]);
    const headers = {
      ":path": BATCH,
      "content-type": "application/grpc+proto",
      te: "trailers",
      authorization: `Bearer ${secret}`,
    };
    const held = new HeldH2Request(session, headers, body.subarray(0, 8));
    await held.continued;
    held.finish(body.subarray(8));
    const answer = await answered(held);
    expect({ ...answer.headers, ...answer.trailers }).toMatchObject({ "grpc-status": "0" });
  });
});

function connectJson(length: number) {
  return { "content-type": "application/json", "connect-protocol-version": "1", "content-length": String(length) };
}

function grpcPrefix(length: number): Buffer {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(length, 1);
  return prefix;
}
