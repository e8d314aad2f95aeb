import net from "node:net";

export interface TcpProxy {
  port: number;
  /**
   * A network partition: bytes stop flowing both ways on open connections, and new connections
   * are accepted but never reach the target. Nothing is closed, so no side hears of it.
   */
  partition(): void;
  /** Cuts every connection and stops listening. */
  close(): Promise<void>;
}

/** A loopback TCP proxy to `target`, to take a real network path away from under a client. */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let partitioned = false;
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.once("close", () => sockets.delete(socket));
  };
  const server = net.createServer((client) => {
    track(client);
    if (partitioned) return client.pause();
    const upstream = net.connect(target.port, target.host);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.once("close", () => upstream.destroy());
    upstream.once("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    partition() {
      partitioned = true;
      for (const socket of sockets) {
        socket.unpipe();
        socket.pause();
      }
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
