import http from "node:http";
import http2 from "node:http2";
import net from "node:net";

/** The first bytes an HTTP/2 client sends with prior knowledge (RFC 9113 §3.4). */
const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

export type RequestHandler = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void;

export interface OnePortOptions {
  /** PEM certificate and key: serve TLS with ALPN h2 and http/1.1 instead of cleartext. */
  tls?: { cert: Buffer; key: Buffer };
  /** Idle keep-alive connections and HTTP/2 sessions are closed after this long. */
  idleTimeoutMs: number;
  /** A request must be fully received within this time (HTTP/1.1). */
  requestTimeoutMs: number;
}

/**
 * A server answering HTTP/1.1 and HTTP/2 on one port. In cleartext, each connection's first bytes
 * decide: the HTTP/2 preface goes to an h2c server (as gRPC clients use), anything else to an
 * HTTP/1.1 server. With TLS, ALPN decides. Fastify mounts it through `serverFactory`.
 */
export function createOnePortServer(handler: RequestHandler, options: OnePortOptions): net.Server {
  if (options.tls) {
    const server = http2.createSecureServer(
      { ...options.tls, allowHTTP1: true, ALPNProtocols: ["h2", "http/1.1"] },
      handler,
    );
    server.setTimeout(options.idleTimeoutMs);
    return server;
  }

  const h1 = http.createServer(handler as http.RequestListener);
  h1.keepAliveTimeout = options.idleTimeoutMs;
  h1.requestTimeout = options.requestTimeoutMs;
  h1.headersTimeout = Math.min(options.requestTimeoutMs, 60_000);

  const h2 = http2.createServer(handler);
  h2.setTimeout(options.idleTimeoutMs);
  const sessions = new Set<http2.Http2Session>();
  h2.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });

  const server = net.createServer((socket) => routeByPreface(socket, h1, h2, options.idleTimeoutMs));
  // http.Server tracks its connections (for closeIdleConnections) only once it has "listened".
  server.once("listening", () => h1.emit("listening"));

  const closeOuter = server.close.bind(server);
  server.close = (callback?: (err?: Error) => void) => {
    closeOuter(callback);
    h1.close();
    h1.closeIdleConnections();
    // A graceful close: GOAWAY, then each session ends once its open streams are done.
    for (const session of sessions) session.close();
    return server;
  };
  return server;
}

/** Reads just enough of a new connection to tell HTTP/2 from HTTP/1.1, then hands it over. */
function routeByPreface(socket: net.Socket, h1: http.Server, h2: http2.Http2Server, idleTimeoutMs: number): void {
  // A connection that never sends a byte is dropped instead of held open.
  socket.setTimeout(idleTimeoutMs, () => socket.destroy());
  let received = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    received = Buffer.concat([received, chunk]);
    const compared = Math.min(received.length, H2_PREFACE.length);
    const looksLikeH2 = received.subarray(0, compared).equals(H2_PREFACE.subarray(0, compared));
    // The preface may arrive split across packets: wait for all 24 bytes while it still matches.
    if (looksLikeH2 && received.length < H2_PREFACE.length) return;
    socket.off("data", onData);
    socket.setTimeout(0);
    socket.pause();
    socket.unshift(received);
    if (looksLikeH2) {
      // The HTTP/2 session reads the unshifted bytes itself on the next tick; resuming here
      // would let them flow away as "data" events nobody listens to.
      h2.emit("connection", socket);
    } else {
      h1.emit("connection", socket);
      socket.resume();
    }
  };
  socket.on("data", onData);
  socket.on("error", () => socket.destroy());
}
