import { promisify } from "node:util";
import { gunzip } from "node:zlib";
import type { FastifyRequest } from "fastify";
import { InvalidArgumentError, TooLargeError } from "../../lib/errors.ts";

const gunzipAsync = promisify(gunzip);

/** Whether the request (or, before its body is read, its headers) is OTLP JSON rather than protobuf. */
export function isOtlpJson(request: FastifyRequest): boolean {
  return /^application\/json\b/i.test(request.headers["content-type"] ?? "");
}

/**
 * The request's body bytes, gunzipped when sent with `Content-Encoding: gzip`: decompression stops
 * at `maxBytes`, so a small gzip bomb is refused (413) without inflating it.
 */
export async function otlpBodyBytes(request: FastifyRequest, maxBytes: number): Promise<Buffer> {
  const body = request.body as Buffer;
  const encoding = (request.headers["content-encoding"] ?? "identity").trim().toLowerCase();
  if (encoding === "identity" || encoding === "") return body;
  if (encoding !== "gzip") {
    throw new InvalidArgumentError([
      { field: "content-encoding", description: `${encoding} is not supported: send gzip or no encoding` },
    ]);
  }
  try {
    return await gunzipAsync(body, { maxOutputLength: maxBytes });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
      throw new TooLargeError(`the gzipped body inflates past the limit of ${maxBytes} bytes`);
    }
    throw new InvalidArgumentError([{ field: "body", description: `is not valid gzip: ${(err as Error).message}` }]);
  }
}
