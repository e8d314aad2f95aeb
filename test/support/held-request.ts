import http from "node:http";
import http2 from "node:http2";

/** An answer: status, headers, trailers (none for a trailers-only answer) and body. */
export interface HeldAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  trailers: http.IncomingHttpHeaders;
  body: string;
}

/** A liveness bound, so a server that waits for the body fails the test instead of hanging it. */
const DEADLINE_MS = 10_000;

/**
 * An HTTP/1.1 request on a connection of its own whose body the client holds back, as
 * HeldH2Request does on HTTP/2.
 */
export class HeldH1Request {
  readonly #request: http.ClientRequest;
  readonly answer: Promise<HeldAnswer | "silence">;
  readonly continued: Promise<void>;

  constructor(url: string, headers: http.OutgoingHttpHeaders, first: Uint8Array) {
    this.#request = http.request(url, {
      method: "POST",
      agent: false,
      headers: { expect: "100-continue", ...headers },
    });
    const request = this.#request;
    this.continued = new Promise((resolve) => request.once("continue", () => resolve()));
    this.answer = new Promise((resolve) => {
      const timer = setTimeout(() => resolve("silence"), DEADLINE_MS);
      request.on("response", (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          clearTimeout(timer);
          const { statusCode = 0, headers, trailers } = res;
          resolve({ status: statusCode, headers, trailers, body: Buffer.concat(chunks).toString() });
        });
      });
    });
    request.on("error", () => {});
    request.flushHeaders();
    request.write(first);
  }

  finish(rest: Uint8Array): void {
    this.#request.end(rest);
  }

  abort(): void {
    this.#request.destroy();
  }
}

/**
 * An HTTP/2 request whose body the client holds back: the headers and the first part of the body
 * go out at once, the rest only on `finish` (or never: `abort` resets the stream). It asks for
 * `100 Continue`, so `continued` tells when the server has taken the request in.
 */
export class HeldH2Request {
  readonly #stream: http2.ClientHttp2Stream;
  /** The server's whole answer; "silence" if none comes within the deadline. */
  readonly answer: Promise<HeldAnswer | "silence">;
  /** Resolves when the server says 100 Continue. */
  readonly continued: Promise<void>;

  constructor(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, first: Uint8Array) {
    this.#stream = session.request({ ":method": "POST", expect: "100-continue", ...headers }, { endStream: false });
    const stream = this.#stream;
    this.continued = new Promise((resolve) => stream.once("continue", () => resolve()));
    this.answer = new Promise((resolve) => {
      let answered: http2.IncomingHttpHeaders = {};
      let trailers: http2.IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      const timer = setTimeout(() => resolve("silence"), DEADLINE_MS);
      stream.on("response", (h) => {
        answered = h;
      });
      stream.on("trailers", (t) => {
        trailers = t;
      });
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("error", () => {});
      stream.on("end", () => {
        clearTimeout(timer);
        const body = Buffer.concat(chunks).toString();
        resolve({ status: Number(answered[":status"]), headers: answered, trailers, body });
      });
    });
    stream.write(first);
  }

  finish(rest: Uint8Array): void {
    this.#stream.end(rest);
  }

  abort(): void {
    this.#stream.close(http2.constants.NGHTTP2_CANCEL);
  }
}

/** Waits until `condition` holds; throws naming `what` if it does not within the deadline. */
export async function until(condition: () => boolean, what: string, deadlineMs = 10_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`still not ${what} after ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
