import http from "node:http";
import http2 from "node:http2";
import https from "node:https";
import net from "node:net";
import { describe, expect, it } from "vitest";
import { storeKinds } from "../../support/databases.ts";
import { startTestServer, type TestServer } from "../../support/server.ts";
import { closeSession, connected, JSON_HEADERS } from "./raw-http.ts";
import { selfSignedCert } from "./tls-cert.ts";

const INGEST = "/chaukas.spec.server.v1.ChaukasServerService/IngestEvent";

interface Outcome {
  status: number;
  connection?: string;
  body: string;
}

function ingestBody(eventId: string): string {
  const event = {
    eventId,
    tenantId: "shutdown",
    projectId: "web",
    sessionId: "s-1",
    type: "EVENT_TYPE_AGENT_START",
    timestamp: "2025-11-25T12:00:00Z",
  };
  return JSON.stringify({ event });
}

/**
 * Sends the headers of an IngestEvent with `Expect: 100-continue`. Once the server answers
 * "100 Continue" the request is in its hands: `whenInFlight` runs then, and only then is the body
 * sent.
 */
function h1InFlight(url: string, agent: http.Agent, body: string, whenInFlight: () => void): Promise<Outcome> {
  const client = url.startsWith("https:") ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(url, {
      method: "POST",
      agent,
      headers: { ...JSON_HEADERS, expect: "100-continue", "content-length": Buffer.byteLength(body) },
    });
    req.on("continue", () => {
      whenInFlight();
      req.end(body);
    });
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          connection: res.headers.connection,
          body: Buffer.concat(chunks).toString(),
        }),
      );
    });
    req.on("error", reject);
    req.flushHeaders();
  });
}

/** The same over an HTTP/2 stream. */
function h2InFlight(session: http2.ClientHttp2Session, body: string, whenInFlight: () => void): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ":method": "POST", ":path": INGEST, ...JSON_HEADERS, expect: "100-continue" });
    let status = 0;
    const chunks: Buffer[] = [];
    stream.on("continue", () => {
      whenInFlight();
      stream.end(body);
    });
    stream.on("response", (headers) => {
      status = Number(headers[":status"]);
    });
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => resolve({ status, body: Buffer.concat(chunks).toString() }));
    stream.on("error", reject);
  });
}

/** The error code of a new TCP connection to the port, or "connected". */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? String(err)));
  });
}

// The requests in flight store an event, so the store's close comes after their commit: on both stores.
describe.each(
  (await storeKinds()).flatMap((kind) => [
    { mode: "cleartext", tls: false, kind },
    { mode: "TLS", tls: true, kind },
  ]),
)("graceful shutdown ($mode, $kind store)", ({ tls, kind }) => {
  async function start() {
    const pair = tls ? selfSignedCert() : undefined;
    const server = await startTestServer(kind, { tls: pair });
    const origin = `${tls ? "https" : "http"}://127.0.0.1:${server.port}`;
    return { server, origin, ca: pair?.cert };
  }

  /** Runs `exchange`, which must call `close` while its request is in flight, and waits for the close. */
  async function closeDuring(server: TestServer, exchange: (close: () => void) => Promise<Outcome>) {
    let closing: Promise<void> | undefined;
    try {
      const outcome = await exchange(() => {
        closing = server.close();
      });
      await closing;
      return outcome;
    } finally {
      if (!closing) await server.close();
    }
  }

  it("finishes an HTTP/1.1 request in flight at close(), then refuses new connections", async () => {
    const { server, origin, ca } = await start();
    // A keep-alive client: close() must not wait for its connection to idle out afterwards.
    const agent = tls ? new https.Agent({ keepAlive: true, ca }) : new http.Agent({ keepAlive: true });
    try {
      const outcome = await closeDuring(server, (close) =>
        h1InFlight(`${origin}${INGEST}`, agent, ingestBody(`h1-${origin}`), close),
      );
      expect(outcome.status).toBe(200);
      expect(JSON.parse(outcome.body)).toMatchObject({ eventId: `h1-${origin}`, status: "accepted" });
      // The client is told not to reuse the connection.
      expect(outcome.connection).toBe("close");
      expect(await tryConnect(server.port)).toBe("ECONNREFUSED");
    } finally {
      agent.destroy();
    }
  });

  it("finishes an HTTP/2 stream in flight at close(), then refuses new connections", async () => {
    const { server, origin, ca } = await start();
    const session = await connected(http2.connect(origin, { ca }));
    try {
      const outcome = await closeDuring(server, (close) => h2InFlight(session, ingestBody(`h2-${origin}`), close));
      expect(outcome.status).toBe(200);
      expect(JSON.parse(outcome.body)).toMatchObject({ eventId: `h2-${origin}`, status: "accepted" });
      expect(await tryConnect(server.port)).toBe("ECONNREFUSED");
    } finally {
      if (!session.closed) await closeSession(session);
    }
  });
});
