import type { AddressInfo, Socket } from "node:net";
import type { EventService } from "../../src/domain/event-service.ts";
import { buildServer, type ServerOptions } from "../../src/transport/server.ts";
import { TEST_SERVER_OPTIONS } from "../support/server.ts";

export interface Served {
  /** `http://127.0.0.1:<port>` */
  baseUrl: string;
  /**
   * Closes gracefully and tells whether that finished within `deadlineMs`; if it did not, the
   * remaining connections are cut so the server is closed either way when this resolves.
   */
  closeGracefully(deadlineMs: number): Promise<boolean>;
}

/**
 * The real server (buildServer) over the given EventService on an ephemeral loopback port. Unlike
 * test/support/server.ts it lets the caller own the store, and it keeps track of the server's
 * sockets so that a close that hangs can be reported by a test instead of hanging the suite.
 */
export async function serve(
  events: EventService,
  options: Partial<ServerOptions> & Pick<ServerOptions, "audit">,
): Promise<Served> {
  const app = await buildServer(events, { ...TEST_SERVER_OPTIONS, ...options });
  const sockets = new Set<Socket>();
  app.server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const { port } = app.server.address() as AddressInfo;

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= app.close();
    return closing;
  };
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    async closeGracefully(deadlineMs) {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), deadlineMs);
      });
      const graceful = await Promise.race([close().then(() => true as const), deadline]);
      clearTimeout(timer);
      if (!graceful) {
        for (const socket of sockets) socket.destroy();
        await close();
      }
      return graceful;
    },
  };
}
