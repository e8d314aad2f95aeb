import http2 from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../../support/server.ts";
import { closeSession, connected, HEALTHZ } from "./raw-http.ts";

/**
 * gRPC's Length-Prefixed-Message starts with a Compressed-Flag that is 0 or 1; any other value is a
 * malformed request, refused with INTERNAL (13) as the gRPC implementations do, never read as an
 * uncompressed message.
 */

const BATCH = "/chaukas.spec.server.v1.ChaukasServerService/IngestEventBatch";

interface GrpcReply {
  httpStatus: number;
  /** grpc-status and grpc-message, from the trailers (gRPC) or the trailer frame in the body (gRPC-Web). */
  grpcStatus?: string;
  grpcMessage?: string;
}

/** One empty request message, framed with `flag`. */
const envelope = (flag: number) => Buffer.from([flag, 0, 0, 0, 0]);

let server: TestServer;
let session: http2.ClientHttp2Session;
beforeAll(async () => {
  server = await startTestServer("embedded");
  session = await connected(http2.connect(server.baseUrl));
});
afterAll(async () => {
  if (session) await closeSession(session);
  await server?.close();
});

/** A POST of raw bytes on the shared HTTP/2 session, with its gRPC status however it came. */
function post(path: string, contentType: string, body: Buffer): Promise<GrpcReply> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ":method": "POST", ":path": path, "content-type": contentType, te: "trailers" });
    const reply: GrpcReply = { httpStatus: 0 };
    const chunks: Buffer[] = [];
    const statusFrom = (h: http2.IncomingHttpHeaders) => {
      if (h["grpc-status"] !== undefined) reply.grpcStatus = String(h["grpc-status"]);
      if (h["grpc-message"] !== undefined) reply.grpcMessage = decodeURIComponent(String(h["grpc-message"]));
    };
    stream.on("response", (h) => {
      reply.httpStatus = Number(h[":status"]);
      statusFrom(h);
    });
    stream.on("trailers", statusFrom);
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("error", reject);
    stream.on("end", () => {
      // gRPC-Web: the trailers are the body's last frame (flag 0x80), as header lines.
      const body = Buffer.concat(chunks).toString("latin1");
      const web = /grpc-status:\s*(\d+)/.exec(body);
      if (web) reply.grpcStatus = web[1];
      const message = /grpc-message:\s*([^\r\n]*)/.exec(body);
      if (message) reply.grpcMessage = decodeURIComponent(message[1]);
      resolve(reply);
    });
    stream.end(body);
  });
}

describe("the Compressed-Flag of a request message", () => {
  it("0 is an uncompressed message", async () => {
    expect(await post(HEALTHZ, "application/grpc", envelope(0))).toMatchObject({ httpStatus: 200, grpcStatus: "0" });
    expect(await post(HEALTHZ, "application/grpc-web+proto", envelope(0))).toMatchObject({ grpcStatus: "0" });
  });

  it.each([0x02, 0x80, 0xff])("%i is refused with INTERNAL over gRPC", async (flag) => {
    const reply = await post(HEALTHZ, "application/grpc", envelope(flag));
    expect(reply).toMatchObject({ httpStatus: 200, grpcStatus: "13" });
    expect(reply.grpcMessage).toContain(`flag ${flag}`);
  });

  it.each([0x02, 0x80])("%i is refused with INTERNAL over gRPC-Web", async (flag) => {
    const reply = await post(HEALTHZ, "application/grpc-web+proto", envelope(flag));
    expect(reply.grpcStatus).toBe("13");
  });

  it("is checked on every message of the body, and on the binary ingest batch route", async () => {
    const second = Buffer.concat([envelope(0), envelope(0x02)]);
    expect((await post(HEALTHZ, "application/grpc", second)).grpcStatus).toBe("13");
    const reply = await post(BATCH, "application/grpc", envelope(0x02));
    expect(reply).toMatchObject({ grpcStatus: "13" });
    expect(reply.grpcMessage).toContain("flag 2");
  });
});
