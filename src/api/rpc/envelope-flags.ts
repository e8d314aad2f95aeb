import { Code, ConnectError } from "@connectrpc/connect";
import * as grpc from "@connectrpc/connect/protocol-grpc";
import * as grpcWeb from "@connectrpc/connect/protocol-grpc-web";
import type { FastifyInstance } from "fastify";

/** Bytes before each message of a gRPC body: the Compressed-Flag, then the length (big-endian uint32). */
export const PREFIX_BYTES = 5;

/** Writes an uncompressed message's prefix (flag 0, then `messageLength`) into the first PREFIX_BYTES of `into`. */
export function writeUncompressedPrefix(into: Uint8Array, messageLength: number): void {
  into[0] = 0;
  new DataView(into.buffer, into.byteOffset, PREFIX_BYTES).setUint32(1, messageLength);
}

/**
 * gRPC's Length-Prefixed-Message has a Compressed-Flag of 0 or 1. Connect tests only its low bit,
 * so another value (0x02, 0x80) would be read as an uncompressed message. This passes the body
 * through as it arrives and fails it at the first message with another flag: INTERNAL, the code
 * gRPC's own implementations answer a malformed request message with (as Connect does for one it
 * cannot parse).
 */
export async function* checkedEnvelopes(body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let messageLeft = 0;
  let prefix: number[] = [];
  for await (const chunk of body) {
    let at = 0;
    while (at < chunk.length) {
      if (messageLeft > 0) {
        const taken = Math.min(messageLeft, chunk.length - at);
        messageLeft -= taken;
        at += taken;
        continue;
      }
      prefix.push(chunk[at++]);
      if (prefix.length === 1 && prefix[0] > 1) {
        throw new ConnectError(
          `invalid message flag ${prefix[0]}: the compressed flag of a gRPC message is 0 or 1`,
          Code.Internal,
        );
      }
      if (prefix.length === PREFIX_BYTES) {
        messageLeft = Buffer.from(prefix).readUInt32BE(1);
        prefix = [];
      }
    }
    yield chunk;
  }
}

/**
 * A preHandler hook: the body of a gRPC or gRPC-Web request reaches Connect through
 * checkedEnvelopes (connect-fastify reads `request.body` when it is set, the raw request otherwise).
 */
export function checkEnvelopeFlags(app: FastifyInstance): void {
  app.addHook("preHandler", async (request) => {
    const contentType = request.headers["content-type"] ?? null;
    if (grpc.parseContentType(contentType) || grpcWeb.parseContentType(contentType)?.text === false) {
      request.body = checkedEnvelopes(request.raw);
    }
  });
}
