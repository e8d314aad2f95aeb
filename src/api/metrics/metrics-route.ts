import http from "node:http";
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import type { PrometheusMetrics } from "./prometheus.ts";

/** `GET /metrics` on the server's own port, without a key: a scraper holds none. */
export function metricsRoute(app: FastifyInstance, metrics: PrometheusMetrics): void {
  app.get("/metrics", { config: { public: true } }, async (_request, reply) => {
    const text = await metrics.render();
    return reply.type(metrics.registry.contentType).send(text);
  });
}

/**
 * `GET /metrics` on an address of its own (plain HTTP/1.1), for a port only the monitoring network
 * reaches. Resolves with the server once it listens.
 */
export async function serveMetrics(metrics: PrometheusMetrics, host: string, port: number): Promise<http.Server> {
  const server = http.createServer((request, response) => {
    if (request.method !== "GET" || request.url?.split("?")[0] !== "/metrics") {
      response.writeHead(404, { "content-type": "text/plain" }).end("only GET /metrics is served here\n");
      return;
    }
    metrics.render().then(
      (text) => response.writeHead(200, { "content-type": metrics.registry.contentType }).end(text),
      (err) => response.writeHead(500, { "content-type": "text/plain" }).end(`${(err as Error).message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}

/** `http://host:port` of a listening server. */
export function addressOf(server: http.Server): string {
  const { address, port, family } = server.address() as AddressInfo;
  return `http://${family === "IPv6" ? `[${address}]` : address}:${port}`;
}
