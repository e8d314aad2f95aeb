import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";

/**
 * Relays loopback TCP connections to a server (PostgreSQL, or ours) and counts, per relayed
 * connection, its turns (a turn is the client writing after the server has answered: a round trip),
 * and the bytes each side sent.
 */
export class CountingRelay {
  readonly #server: Server;
  /** Per relayed connection, the turns it took. */
  readonly turns: number[] = [];
  /** Bytes the server sent, over every connection, since the last reset. */
  bytesFromServer = 0;
  /** Bytes the clients sent, over every connection, since the last reset. */
  bytesFromClient = 0;

  constructor(target: { host: string; port: number }) {
    this.#server = createServer((client: Socket) => {
      const index = this.turns.push(0) - 1;
      let serverSpoke = true;
      const upstream = tcpConnect(target.port, target.host);
      client.on("data", (chunk) => {
        if (serverSpoke) this.turns[index]++;
        serverSpoke = false;
        this.bytesFromClient += chunk.length;
        upstream.write(chunk);
      });
      upstream.on("data", (chunk) => {
        serverSpoke = true;
        this.bytesFromServer += chunk.length;
        client.write(chunk);
      });
      for (const [a, b] of [
        [client, upstream],
        [upstream, client],
      ]) {
        a.on("end", () => b.end());
        a.on("error", () => b.destroy());
      }
    });
  }

  /** A relay listening in front of the server of connection string `url`, and `url` through it. */
  static async inFrontOf(url: string): Promise<{ relay: CountingRelay; url: string }> {
    const target = new URL(url);
    const relay = new CountingRelay({ host: target.hostname, port: Number(target.port || 5432) });
    const relayed = new URL(url);
    relayed.host = `127.0.0.1:${await relay.listen()}`;
    return { relay, url: relayed.toString() };
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
    const address = this.#server.address();
    if (address === null || typeof address === "string") throw new Error("the relay has no port");
    return address.port;
  }

  /** Turns over every connection since the last reset. */
  total(): number {
    return this.turns.reduce((sum, n) => sum + n, 0);
  }

  reset(): void {
    this.turns.fill(0);
    this.bytesFromServer = 0;
    this.bytesFromClient = 0;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}
