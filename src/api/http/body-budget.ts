import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import { OverloadedError } from "../../lib/errors.ts";
import { type Metrics, NO_METRICS } from "../../lib/metrics.ts";
import { releaseOnce } from "../../lib/release-once.ts";

/**
 * Bounds the bytes of request bodies held in memory across all requests. Each request reserves
 * what its body may hold before any of it is read, and gives it back when its answer is done or
 * the request is aborted; past the bound a request is refused at once, retryable, unread.
 */
export class BodyBudget {
  readonly maxBytes: number;
  readonly #metrics: Metrics;
  #reservedBytes = 0;

  constructor(maxBytes: number, metrics: Metrics = NO_METRICS) {
    this.maxBytes = maxBytes;
    this.#metrics = metrics;
  }

  /** Reserves `bytes` or throws OverloadedError. Call the returned function (any number of times) when done. */
  reserve(bytes: number): () => void {
    if (bytes === 0) return () => {};
    if (this.#reservedBytes + bytes > this.maxBytes) {
      this.#metrics.backpressureRefused("body_bytes");
      throw new OverloadedError(
        `request bodies in flight hold ${mib(this.#reservedBytes)}, ${mib(bytes)} more would pass the bound of ${mib(this.maxBytes)}`,
        1,
      );
    }
    this.#reservedBytes += bytes;
    return releaseOnce(() => {
      this.#reservedBytes -= bytes;
    });
  }

  /**
   * Reserves `upFront` bytes for a body of undeclared length, and more as it arrives (`grow`, with
   * each chunk), up to `limit`; `grow` throws OverloadedError past the bound. `release` gives back
   * all of it.
   */
  reserveGrowing(upFront: number, limit: number): { grow: (bytes: number) => void; release: () => void } {
    const releases = [this.reserve(upFront)];
    let reserved = upFront;
    let received = 0;
    return {
      grow: (bytes) => {
        received += bytes;
        if (received <= reserved || reserved >= limit) return;
        // In steps, not per chunk: HTTP/2 delivers a body in 16 KiB frames.
        const more = Math.min(Math.max(received - reserved, GROWTH_STEP_BYTES), limit - reserved);
        releases.push(this.reserve(more));
        reserved += more;
      },
      release: releaseOnce(() => {
        for (const release of releases) release();
      }),
    };
  }

  get reservedBytes(): number {
    return this.#reservedBytes;
  }
}

/** What a body of undeclared length reserves before it arrives, and grows by. */
export const GROWTH_STEP_BYTES = 64 * 1024;

/** Passes `body` through, telling `received` (which may throw to end it) of each chunk before it is passed on. */
export async function* meteredBody(
  body: AsyncIterable<Uint8Array>,
  received: (bytes: number) => void,
): AsyncGenerator<Uint8Array> {
  for await (const chunk of body) {
    received(chunk.byteLength);
    yield chunk;
  }
}

/**
 * The most bytes this request's body can occupy once read, with bodies over `maxBodyBytes` refused:
 * its declared Content-Length; the whole limit when it is compressed (it grows when decompressed);
 * 0 when it has none; `undefined` when its length is not declared (chunked, HTTP/2 without
 * content-length, as gRPC clients send), so that only the limit bounds it.
 */
export function bodyBytesOf(request: IncomingMessage | Http2ServerRequest, maxBodyBytes: number): number | undefined {
  const { headers } = request;
  if (["content-encoding", "connect-content-encoding", "grpc-encoding"].some((name) => isCompressed(headers[name]))) {
    return maxBodyBytes;
  }
  const declared = headers["content-length"];
  if (declared !== undefined && /^\d+$/.test(declared)) return Math.min(Number(declared), maxBodyBytes);
  if ("stream" in request) return request.stream.endAfterHeaders ? 0 : undefined;
  // HTTP/1.1: without Content-Length, a body comes only with Transfer-Encoding.
  return headers["transfer-encoding"] === undefined ? 0 : undefined;
}

function isCompressed(encoding: string | string[] | undefined): boolean {
  return encoding !== undefined && encoding !== "" && encoding !== "identity";
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
