import http2 from "node:http2";
import net from "node:net";
import { Duplex } from "node:stream";
import { setTimeout as delay } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../../support/server.ts";
import { closeSession, connected, H2_PREFACE_LENGTH, HEALTHZ, h1Request, h2Post } from "./raw-http.ts";

/**
 * A socket whose first `H2_PREFACE_LENGTH` written bytes leave in several TCP segments, with a
 * pause between them, as a slow or fragmenting network would deliver an HTTP/2 preface. The
 * http2 client writes the preface itself, so the splitting happens under it rather than before it.
 */
function fragmentingSocket(socket: net.Socket, cuts: number[]): Duplex {
  socket.setNoDelay(true);
  let sent = 0;
  const duplex = new Duplex({
    write(chunk: Buffer, _encoding, callback) {
      const send = async () => {
        let rest = chunk;
        for (const cut of cuts) {
          if (sent >= cut || rest.length === 0) continue;
          const piece = rest.subarray(0, cut - sent);
          await new Promise<void>((resolve, reject) => socket.write(piece, (err) => (err ? reject(err) : resolve())));
          sent += piece.length;
          rest = rest.subarray(piece.length);
          await delay(25);
        }
        if (rest.length > 0) socket.write(rest);
      };
      send().then(() => callback(), callback);
    },
    read() {
      socket.resume();
    },
    final(callback) {
      socket.end(callback);
    },
    destroy(err, callback) {
      socket.destroy(err ?? undefined);
      callback(err);
    },
  });
  socket.on("data", (data) => {
    if (!duplex.push(data)) socket.pause();
  });
  socket.on("end", () => duplex.push(null));
  socket.on("error", (err) => duplex.destroy(err));
  return duplex;
}

/** Raw bytes in, raw bytes out: for requests no HTTP client would fragment on purpose. */
async function rawExchange(port: number, pieces: string[]): Promise<string> {
  const socket = net.connect(port, "127.0.0.1");
  socket.setNoDelay(true);
  const received: Buffer[] = [];
  socket.on("data", (chunk) => received.push(chunk));
  const ended = new Promise<void>((resolve, reject) => {
    socket.on("end", resolve);
    socket.on("error", reject);
  });
  await new Promise((resolve) => socket.once("connect", resolve));
  for (const piece of pieces) {
    socket.write(piece);
    await delay(25);
  }
  await ended;
  socket.destroy();
  return Buffer.concat(received).toString();
}

describe("one port for HTTP/1.1 and cleartext HTTP/2", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.close());

  it("answers an HTTP/1.1 request", async () => {
    const reply = await h1Request(`${server.baseUrl}${HEALTHZ}`, "{}");
    expect(reply).toMatchObject({ status: 200, httpVersion: "1.1", body: "{}" });
  });

  it("answers prior-knowledge HTTP/2 (h2c) on the same port, several streams on one session", async () => {
    const session = await connected(http2.connect(server.baseUrl));
    try {
      const replies = await Promise.all([1, 2, 3].map(() => h2Post(session, HEALTHZ, "{}")));
      for (const reply of replies) expect(reply).toMatchObject({ status: 200, body: "{}" });
    } finally {
      await closeSession(session);
    }
  });

  it("waits for an HTTP/2 preface that arrives split across several TCP writes", async () => {
    const socket = net.connect(server.port, "127.0.0.1");
    await new Promise((resolve) => socket.once("connect", resolve));
    const session = http2.connect(server.baseUrl, {
      createConnection: () => fragmentingSocket(socket, [1, 5, 14, H2_PREFACE_LENGTH]),
    });
    try {
      expect(await h2Post(session, HEALTHZ, "{}")).toMatchObject({ status: 200, body: "{}" });
    } finally {
      await closeSession(session);
    }
  });

  it("sends an HTTP/1.1 request that starts like the preface ('P' of POST) to HTTP/1.1", async () => {
    const request = [
      `POST ${HEALTHZ} HTTP/1.1`,
      `Host: 127.0.0.1:${server.port}`,
      "Content-Type: application/json",
      "Content-Length: 2",
      "Connection: close",
      "",
      "{}",
    ].join("\r\n");
    const response = await rawExchange(server.port, [request.slice(0, 1), request.slice(1, 3), request.slice(3)]);
    expect(response).toMatch(/^HTTP\/1\.1 200 /);
    expect(response.endsWith("\r\n\r\n{}")).toBe(true);
  });
});
