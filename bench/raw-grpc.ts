import http2 from "node:http2";
import { gunzipSync } from "node:zlib";
import type { DescMethodUnary } from "@bufbuild/protobuf";
import { PREFIX_BYTES, writeUncompressedPrefix } from "../src/api/rpc/envelope-flags.ts";

/**
 * The ingest load's gRPC client: unary calls on one HTTP/2 connection, each request body framed
 * (gRPC's 5-byte prefix and the encoded message) before the clock starts, so a call costs the
 * shared cores little more than its HTTP/2 writes. Connect's client copies a pre-encoded 600 KB
 * batch through protobuf-es's writer and its envelope on every call. The answers are checked as
 * any gRPC client would: HTTP 200, grpc-status 0, one message.
 */
export class RawGrpcConnection {
  readonly #session: http2.ClientHttp2Session;
  readonly #acceptGzip: boolean;

  /**
   * `acceptGzip`: say `grpc-accept-encoding: gzip`, as grpc-js and gRPC's C core do by default, so
   * the server answers it as it answers them: uncompressed, as its requests are (ADR 0035). The
   * client inflates a compressed answer.
   */
  constructor(baseUrl: string, options: { acceptGzip?: boolean } = {}) {
    this.#acceptGzip = options.acceptGzip ?? false;
    this.#session = http2.connect(baseUrl);
    // A failed connection fails its calls; the session's own "error" must not crash the bench.
    this.#session.on("error", () => {});
  }

  /** One unary call of `method` with an already framed request; resolves with the response's message bytes. */
  call(method: DescMethodUnary, framedRequest: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const stream = this.#session.request({
        ":method": "POST",
        ":path": `/${method.parent.typeName}/${method.name}`,
        "content-type": "application/grpc+proto",
        te: "trailers",
        ...(this.#acceptGzip ? { "grpc-accept-encoding": "gzip" } : {}),
      });
      const chunks: Buffer[] = [];
      let httpStatus = 0;
      let grpcStatus: string | undefined;
      let grpcMessage = "";
      let gzipped = false;
      const readStatus = (headers: http2.IncomingHttpHeaders) => {
        if (headers["grpc-status"] === undefined) return;
        grpcStatus = String(headers["grpc-status"]);
        grpcMessage = decodeURIComponent(String(headers["grpc-message"] ?? ""));
      };
      stream.on("response", (headers) => {
        httpStatus = Number(headers[":status"]);
        gzipped = headers["grpc-encoding"] === "gzip";
        readStatus(headers); // a trailers-only answer
      });
      stream.on("trailers", readStatus);
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("error", reject);
      stream.on("end", () => {
        if (httpStatus !== 200 || grpcStatus !== "0") {
          reject(new Error(`${method.name}: HTTP ${httpStatus}, grpc-status ${grpcStatus}: ${grpcMessage}`));
          return;
        }
        const body = Buffer.concat(chunks);
        const flagKnown = body[0] === 0 || (gzipped && body[0] === 1);
        if (body.length < 5 || !flagKnown || body.readUInt32BE(1) !== body.length - 5) {
          reject(new Error(`${method.name}: not one gRPC message (${body.length} bytes)`));
          return;
        }
        resolve(body[0] === 1 ? gunzipSync(body.subarray(5)) : body.subarray(5));
      });
      stream.end(framedRequest);
    });
  }

  close(): void {
    this.#session.destroy();
  }
}

/** A gRPC length-prefixed message: flag 0 (uncompressed), the length as big-endian uint32, the bytes. */
export function grpcFrame(message: Uint8Array): Buffer {
  const framed = Buffer.allocUnsafe(PREFIX_BYTES + message.length);
  writeUncompressedPrefix(framed, message.length);
  framed.set(message, PREFIX_BYTES);
  return framed;
}

/** One empty message (an empty HealthzResponse): what the bench's bare servers answer to any call. */
export const EMPTY_GRPC_MESSAGE = grpcFrame(new Uint8Array(0));
/** The trailers the bare servers send after it: the call succeeded. */
export const GRPC_OK_TRAILERS = { "grpc-status": "0" };
