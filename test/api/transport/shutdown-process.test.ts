import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { exitOf, killServerProcesses, type ServerProcess, startServerProcess } from "../../../kit/server-process.ts";

/** A raw connection that records everything the server sends and when it closes. */
function openConnection(port: number): Promise<{ socket: net.Socket; received: () => string; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    let received = "";
    const socket = net.connect(port, "127.0.0.1", () =>
      resolve({ socket, received: () => received, closed: new Promise((done) => socket.once("close", () => done())) }),
    );
    socket.on("data", (chunk) => {
      received += chunk;
    });
    socket.once("error", reject);
  });
}

/** Resolves once `check` holds, looking each time the server process or the connection says something. */
async function until(check: () => boolean, what: string, server: ServerProcess): Promise<void> {
  while (!check()) {
    if (server.child.exitCode !== null) throw new Error(`the server exited before ${what}:\n${server.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("the server process stopping (npm start)", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "chaukas-shutdown-"));
  afterAll(() => {
    killServerProcesses();
    rmSync(dataDir, { recursive: true, force: true });
  });

  // Liveness bound: the process has a 1 s shutdown timeout and cuts connections 1 s later; without
  // that cut, the hanging request would hold it for the 300 s request timeout and this fails.
  const timeout = 60_000;
  it("cuts a request still in flight at --shutdown-timeout-ms, ignores a second SIGTERM, and exits 0", {
    timeout,
  }, async () => {
    const server = await startServerProcess([
      "--data-dir",
      dataDir,
      "--insecure-no-auth",
      "--shutdown-timeout-ms",
      "1000",
    ]);
    const conn = await openConnection(Number(new URL(server.baseUrl).port));
    // Expect: 100-continue makes the server say when the request reached it: then it is in flight.
    conn.socket.write(
      "POST /chaukas.spec.server.v1.ChaukasServerService/IngestEvent HTTP/1.1\r\nHost: test\r\n" +
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n",
    );
    await until(() => conn.received().startsWith("HTTP/1.1 100 Continue"), "it read the request", server);
    // Part of a body, and then nothing: the request never ends.
    conn.socket.write('5\r\n{"eve\r\n');

    server.child.kill("SIGTERM");
    await until(() => server.output().includes("SIGTERM: finishing in-flight requests"), "it began stopping", server);
    server.child.kill("SIGTERM");

    await conn.closed;
    expect(await exitOf(server.child)).toBe(0);
    expect(server.child.signalCode).toBeNull();
    expect(server.output().match(/finishing in-flight requests/g)).toHaveLength(1);
  });
});
