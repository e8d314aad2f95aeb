import { promisify } from "node:util";
import zlib from "node:zlib";
import type { Compression } from "@connectrpc/connect/protocol";
import * as grpc from "@connectrpc/connect/protocol-grpc";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";
import type { FastifyInstance } from "fastify";
import { GzipStreams } from "../../lib/gzip-streams.ts";

const brotli = promisify(zlib.brotliCompress);

/**
 * gzip streams kept for answers: a new one per answer cost a 100-event page about 1 ms of CPU and
 * started a full collection every few hundred answers (ADR 0028).
 */
const gzipStreams = new GzipStreams({ level: 1 }, 4);

/**
 * The compressions Connect answers with, when a client accepts them: connect-node's gzip and
 * brotli at fast levels (decompressing requests stays theirs, with its size limit). A 100-event
 * query answer is about 140 KB: gzip's default level 6 took 2.8 ms for it, level 1 1.0 ms for a
 * body 7% larger; brotli's default quality 11 took 241 ms, quality 4 2.0 ms (smaller than gzip's).
 */
export const ANSWER_COMPRESSIONS: Compression[] = [
  { ...compressionGzip, compress: async (bytes) => ownBuffer(await gzipStreams.compress(bytes)) },
  {
    ...compressionBrotli,
    compress: async (bytes) => ownBuffer(await brotli(bytes, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4 } })),
  },
];

/** zlib's output as the type Connect asks for; a copy only if it shares a SharedArrayBuffer (never, in practice). */
function ownBuffer(bytes: Buffer): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
}

/**
 * A gRPC answer is compressed only when its request was, as grpc-go's server does by default
 * (grpc-java's and gRPC C core's compress only when configured to), and then in the first encoding
 * the client accepts that the server has. gRPC clients accept gzip whether or not it pays (grpc-js,
 * grpcio), and between services on one network compressing an answer costs more than sending it:
 * gzip was 1.1 ms of the 3.9–4.2 ms of server CPU a 100-event page cost (ADR 0035). A client on a
 * slow link compresses its requests and is answered compressed.
 *
 * An onRequest hook: an uncompressed gRPC request loses its `grpc-accept-encoding`, so neither the
 * direct path nor connect-node compresses its answer. gRPC-Web and Connect answers (browsers,
 * curl) are compressed as their clients accept.
 */
export function compressGrpcAnswersAsTheirRequests(app: FastifyInstance): void {
  app.addHook("onRequest", (request, _reply, done) => {
    const headers = request.raw.headers;
    if (
      headers["grpc-accept-encoding"] !== undefined &&
      isIdentity(headers["grpc-encoding"]) &&
      grpc.parseContentType(headers["content-type"] ?? null)
    ) {
      delete headers["grpc-accept-encoding"];
    }
    done();
  });
}

/** Whether a request's `grpc-encoding` or `content-encoding` says it is not compressed. */
export function isIdentity(encoding: string | string[] | undefined): boolean {
  return encoding === undefined || encoding === "identity";
}
