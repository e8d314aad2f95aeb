import net from "node:net";

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * One HTTP/1.1 connection driven byte by byte, for requests no HTTP client would send as asked
 * (a chunked body past the limit) and to see what the server does with the connection afterwards.
 * Understands responses with a Content-Length, which is all Connect sends for unary calls.
 */
export class RawHttp1Connection {
  readonly #socket: net.Socket;
  #received = Buffer.alloc(0);
  #closed = false;
  #waiting: (() => void) | undefined;

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.on("data", (chunk: Buffer) => {
      this.#received = Buffer.concat([this.#received, chunk]);
      this.#waiting?.();
    });
    socket.on("close", () => {
      this.#closed = true;
      this.#waiting?.();
    });
    socket.on("error", () => {});
  }

  static open(port: number): Promise<RawHttp1Connection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, "127.0.0.1", () => resolve(new RawHttp1Connection(socket)));
      socket.once("error", reject);
    });
  }

  write(data: string | Uint8Array): void {
    this.#socket.write(data);
  }

  /**
   * The next whole response on this connection; "closed" when the server closes it first; "silence"
   * when neither happens before the deadline (a liveness bound, so a hung server fails the test
   * instead of hanging it).
   */
  async nextResponse(deadlineMs = 10_000): Promise<RawResponse | "closed" | "silence"> {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      this.#waiting?.();
    }, deadlineMs);
    try {
      for (;;) {
        const response = this.#takeResponse();
        if (response) return response;
        if (this.#closed) return "closed";
        if (timedOut) return "silence";
        await new Promise<void>((resolve) => {
          this.#waiting = resolve;
        });
        this.#waiting = undefined;
      }
    } finally {
      clearTimeout(timer);
    }
  }

  destroy(): void {
    this.#socket.destroy();
  }

  #takeResponse(): RawResponse | undefined {
    const headEnd = this.#received.indexOf("\r\n\r\n");
    if (headEnd < 0) return undefined;
    const [statusLine = "", ...headerLines] = this.#received.subarray(0, headEnd).toString("latin1").split("\r\n");
    const headers: Record<string, string> = {};
    for (const line of headerLines) {
      const colon = line.indexOf(":");
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = Number(headers["content-length"] ?? 0);
    const bodyStart = headEnd + 4;
    if (this.#received.length < bodyStart + length) return undefined;
    const body = this.#received.subarray(bodyStart, bodyStart + length).toString();
    this.#received = this.#received.subarray(bodyStart + length);
    return { status: Number(statusLine.split(" ")[1]), headers, body };
  }
}

/** `data` as one chunk of a chunked transfer coding. */
export function chunk(data: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from("\r\n")]);
}

export const LAST_CHUNK = "0\r\n\r\n";
