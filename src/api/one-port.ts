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
  /** After close(), connections still open this much later are destroyed. */
  forceCloseAfterMs: number;
}

/**
 * A server answering HTTP/1.1 and HTTP/2 on one port. In cleartext, each connection's first bytes
 * decide: the HTTP/2 preface goes to an h2c server (as gRPC clients use), anything else to an
 * HTTP/1.1 server. With TLS, ALPN decides. Fastify mounts it through `serverFactory`.
 */
export function createOnePortServer(app: RequestHandler, options: OnePortOptions): net.Server {
  const handler: RequestHandler = (req, res) => {
    closeUnreadRequests(req, res);
    app(req, res);
  };
  if (options.tls) {
    const drain = keepAliveDrain(() => asHttp1.closeIdleConnections());
    const server = http2.createSecureServer(
      { ...options.tls, allowHTTP1: true, ALPNProtocols: ["h2", "http/1.1"] },
      (req, res) => {
        if (res instanceof http.ServerResponse) drain.track(res);
        handler(req, res);
      },
    );
    server.setTimeout(options.idleTimeoutMs);
    // With allowHTTP1, Node serves HTTP/1.1 with http.Server members its types leave out; without
    // this, HTTP/1.1 over TLS kept Node's defaults (a 5 s keep-alive) instead of these options.
    const asHttp1 = server as unknown as http.Server;
    applyHttp1Timeouts(asHttp1, options);
    // Node's close() then closes idle HTTP/1.1 connections and sends GOAWAY to HTTP/2 sessions.
    const deadline = closeDeadline(server, "secureConnection", options.forceCloseAfterMs);
    const closeSecure = server.close.bind(server);
    server.close = (callback?: (err?: Error) => void) => {
      drain.close();
      deadline.start();
      return closeSecure(callback);
    };
    return server;
  }

  const drain = keepAliveDrain(() => h1.closeIdleConnections());
  const h1 = http.createServer((req, res) => {
    drain.track(res);
    (handler as http.RequestListener)(req, res);
  });
  applyHttp1Timeouts(h1, options);

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

  const deadline = closeDeadline(server, "connection", options.forceCloseAfterMs);
  const closeOuter = server.close.bind(server);
  server.close = (callback?: (err?: Error) => void) => {
    closeOuter(callback);
    deadline.start();
    drain.close();
    h1.close();
    h1.closeIdleConnections();
    // A graceful close: GOAWAY, then each session ends once its open streams are done.
    for (const session of sessions) session.close();
    return server;
  };
  return server;
}

function applyHttp1Timeouts(server: http.Server, options: OnePortOptions): void {
  server.keepAliveTimeout = options.idleTimeoutMs;
  server.requestTimeout = options.requestTimeoutMs;
  server.headersTimeout = Math.min(options.requestTimeoutMs, 60_000);
}

/**
 * close() ends idle HTTP/1.1 keep-alive connections at once but skips those busy with a request;
 * each would then idle on after its response and hold close() up until the keep-alive timeout.
 * Once closing, a response not yet started says "Connection: close", and each finished response
 * closes the connections now idle (its own among them).
 */
function keepAliveDrain(closeIdleConnections: () => void) {
  let closing = false;
  const busy = new Set<http.ServerResponse>();
  return {
    track(res: http.ServerResponse) {
      busy.add(res);
      res.once("close", () => {
        busy.delete(res);
        if (closing) closeIdleConnections();
      });
    },
    close() {
      closing = true;
      for (const res of busy) if (!res.headersSent) res.shouldKeepAlive = false;
    },
  };
}

/**
 * A request answered before its body was read (refused over the body limit) would otherwise leave
 * the rest of that body unread: an HTTP/1.1 connection out of step or stuck, an HTTP/2 stream half
 * open, and a graceful close waiting on them. HTTP/1.1: such an answer says `Connection: close`
 * and the connection ends with it, so no client reuses it. HTTP/2: once the answer is sent, the
 * stream is reset with NO_ERROR (RFC 9113 §8.1).
 */
function closeUnreadRequests(
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
): void {
  if (req instanceof http2.Http2ServerRequest) {
    // Not on the response's "finish": Http2ServerResponse emits that only once its stream has
    // closed, which a client blocked on flow control mid-body never lets happen. Node's compat API
    // ends an answer with trailers (END_STREAM), submitted on the turn after "wantTrailers"; the
    // reset must follow them, as Node's own reset does for a body it never read at all.
    const { stream } = req;
    stream.once("wantTrailers", () =>
      setImmediate(() => {
        if (req.readableEnded || stream.closed) return;
        stream.close(http2.constants.NGHTTP2_NO_ERROR);
        // After a NO_ERROR reset Node keeps the stream until its buffered body is read, which no
        // one does once the request is dropped (Connect destroys it); the reset is sent anyway.
        stream.destroy();
      }),
    );
  } else if (res instanceof http.ServerResponse) {
    // Every header write goes through writeHead, implicit ones too. `complete`: the parser has
    // the whole message (true at once for a request without a body).
    const writeHead = res.writeHead;
    res.writeHead = function (this: http.ServerResponse, ...args: Parameters<typeof writeHead>) {
      if (!req.complete) this.shouldKeepAlive = false;
      return writeHead.apply(this, args);
    } as typeof writeHead;
  }
}

/**
 * Graceful close, bounded: a peer that never finishes (a client holding a stream open, a body
 * that never ends) must not hold a shutdown forever. Every connection still open `afterMs`
 * after close() began is destroyed.
 */
function closeDeadline(server: net.Server, connectionEvent: string, afterMs: number) {
  const open = new Set<net.Socket>();
  server.on(connectionEvent, (socket: net.Socket) => {
    open.add(socket);
    socket.once("close", () => open.delete(socket));
  });
  return {
    start() {
      setTimeout(() => {
        for (const socket of open) socket.destroy();
      }, afterMs).unref();
    },
  };
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
