import type { AddressInfo } from "node:net";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createOnePortServer, type OnePortOptions } from "../../../src/api/one-port.ts";
import { h1Request } from "./raw-http.ts";

/**
 * Connections that are not well-formed HTTP, against the one-port listener itself (src/api/
 * one-port.ts) with short timeouts of its own: buildServer's are minutes long. Each test's liveness
 * bound is its timeout: a connection the server never drops fails it instead of passing.
 */

const servers: net.Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

async function listen(options: Partial<OnePortOptions> = {}): Promise<{ server: net.Server; port: number }> {
  const server = createOnePortServer((_req, res) => res.end("ok"), {
    idleTimeoutMs: 60_000,
    requestTimeoutMs: 60_000,
    forceCloseAfterMs: 60_000,
    ...options,
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

/** Opens a connection, writes `bytes` (if any), and resolves with all it received once the server closed it. */
function untilServerCloses(port: number, bytes?: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    let received = "";
    const socket = net.connect(port, "127.0.0.1", () => {
      if (bytes !== undefined) socket.write(bytes);
    });
    socket.on("data", (chunk) => {
      received += chunk;
    });
    socket.on("error", reject);
    socket.on("close", () => resolve(received));
  });
}

/** The server still answers a real request. */
async function expectStillServing(port: number): Promise<void> {
  const reply = await h1Request(`http://127.0.0.1:${port}/`, "");
  expect(reply.status).toBe(200);
}

describe("the one-port listener", () => {
  it("drops a connection that never sends a byte, after the idle timeout", async () => {
    const { port } = await listen({ idleTimeoutMs: 200 });
    expect(await untilServerCloses(port)).toBe("");
    await expectStillServing(port);
  });

  it("drops a connection that sends part of the HTTP/2 preface and then nothing", async () => {
    const { port } = await listen({ idleTimeoutMs: 200 });
    expect(await untilServerCloses(port, "PRI * HTTP/2.0\r\n")).toBe("");
    await expectStillServing(port);
  });

  it.each([
    ["a TLS ClientHello", Buffer.from("16030100a5010000a10303", "hex")],
    ["text that is no request line", "hello there\r\n\r\n"],
    ["binary noise", Buffer.from([0, 1, 2, 3, 255, 254, 13, 10, 13, 10])],
  ])("answers %s with 400 Bad Request and closes the connection", async (_, bytes) => {
    const { port } = await listen();
    expect(await untilServerCloses(port, bytes)).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    await expectStillServing(port);
  });

  it("does not wait on a silent connection to close, past forceCloseAfterMs", async () => {
    const { server, port } = await listen({ forceCloseAfterMs: 200 });
    const silent = untilServerCloses(port);
    await expectStillServing(port);
    await new Promise((resolve) => server.close(resolve));
    expect(await silent).toBe("");
  });
});
