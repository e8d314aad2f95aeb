import http from "node:http";
import type http2 from "node:http2";
import https from "node:https";
import { type ConnectionOptions, TLSSocket } from "node:tls";

/** A whole HTTP response, read to its end. */
export interface Reply {
  status: number;
  httpVersion: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The body as received (still compressed, if it was). */
  bytes: Buffer;
  /** Over TLS, the protocol ALPN settled on (false: none); undefined in cleartext. */
  alpnProtocol?: string | false | null;
}

/** Length of the HTTP/2 client preface, `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`. */
export const H2_PREFACE_LENGTH = 24;

export const HEALTHZ = "/chaukas.spec.server.v1.ChaukasServerService/Healthz";
export const JSON_HEADERS = { "content-type": "application/json" };

/**
 * One HTTP/1.1 request (https for an https URL) on a connection of its own, closed afterwards.
 * `options` may add headers, a CA, ALPN protocols and so on.
 */
export function h1Request(
  url: string,
  body: string | Uint8Array | undefined,
  options: https.RequestOptions & Pick<ConnectionOptions, "ALPNProtocols"> = {},
): Promise<Reply> {
  const target = new URL(url);
  const client = target.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(target, { method: "POST", agent: false, headers: JSON_HEADERS, ...options }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", reject);
      res.on("end", () => {
        const bytes = Buffer.concat(chunks);
        resolve({
          status: res.statusCode ?? 0,
          httpVersion: res.httpVersion,
          headers: res.headers,
          body: bytes.toString(),
          bytes,
          alpnProtocol: res.socket instanceof TLSSocket ? res.socket.alpnProtocol : undefined,
        });
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** A POST on a stream of an open HTTP/2 session, read to its end. */
export function h2Post(
  session: http2.ClientHttp2Session,
  path: string,
  body: string,
  headers: http2.OutgoingHttpHeaders = JSON_HEADERS,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ":method": "POST", ":path": path, ...headers });
    let responseHeaders: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on("response", (h) => {
      responseHeaders = h;
    });
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("error", reject);
    stream.on("end", () => {
      const bytes = Buffer.concat(chunks);
      resolve({
        status: Number(responseHeaders[":status"]),
        httpVersion: "2.0",
        headers: responseHeaders,
        body: bytes.toString(),
        bytes,
      });
    });
    stream.end(body);
  });
}

/** Resolves once an HTTP/2 session is connected; its ALPN protocol is then known. */
export function connected(session: http2.ClientHttp2Session): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    session.once("connect", () => resolve(session));
    session.once("error", reject);
  });
}

/** Closes an HTTP/2 session gracefully and waits for it. */
export function closeSession(session: http2.ClientHttp2Session): Promise<void> {
  return new Promise((resolve) => session.close(() => resolve()));
}
