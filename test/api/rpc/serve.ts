import type { AddressInfo, Socket } from "node:net";
import { buildServer, type ServerOptions } from "../../../src/api/server.ts";
import type { EventService } from "../../../src/core/event-service.ts";
import { TEST_SERVER_OPTIONS } from "../../support/server.ts";

export interface Served {
  /** `http://127.0.0.1:<port>` */
  baseUrl: string;
  /**
   * Closes gracefully and tells whether that finished within `deadlineMs`; if it did not, the
   * remaining connections are cut so the server is closed either way when this resolves.
   * `deadlineMs` must fall before the server's own shutdown timeout, or a connection the server
   * cuts itself would pass for one that closed gracefully.
   */
  closeGracefully(deadlineMs: number): Promise<boolean>;
}

/**
 * The shutdown timeout of these servers: far past any test's close deadline, so only a close that
 * finishes by itself beats the deadline (test servers elsewhere cut connections after 2 s).
 */
const SHUTDOWN_TIMEOUT_MS = 60_000;

/**
 * The real server (buildServer) over the given EventService on an ephemeral loopback port. Unlike
 * test/support/server.ts it lets the caller own the store, and it keeps track of the server's
 * sockets so that a close that hangs can be reported by a test instead of hanging the suite.
 */
export async function serve(
  events: EventService,
  options: Partial<ServerOptions> & Pick<ServerOptions, "audit">,
): Promise<Served> {
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? SHUTDOWN_TIMEOUT_MS;
  const app = await buildServer(events, { ...TEST_SERVER_OPTIONS, shutdownTimeoutMs, ...options });
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
      if (deadlineMs >= shutdownTimeoutMs) {
        throw new Error(`a close deadline of ${deadlineMs} ms does not fall before the shutdown timeout`);
      }
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
