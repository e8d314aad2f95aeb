/**
 * The RPC stack alone, for the framework tax (tax.ts): Fastify on the server's one-port listener
 * (HTTP/1.1 and h2c), a bare GET route and connect-fastify's Healthz, both answering without a
 * database, without hooks, auth, logging or metrics: what connect-fastify's own handling costs. With
 * `--without-connect`, Healthz's gRPC path is a plain Fastify route that writes the gRPC answer
 * itself: Fastify and Node's HTTP/2 compatibility layer without connect, a floor of any call
 * served through Fastify. Prints the listening line the server prints.
 */
import type http from "node:http";
import { create } from "@bufbuild/protobuf";
import { fastifyConnectPlugin } from "@connectrpc/connect-fastify";
import Fastify from "fastify";
import { ChaukasServerService, HealthzResponseSchema } from "../gen/chaukas/spec/server/v1/server_pb.ts";
import { createOnePortServer, type RequestHandler } from "../src/api/one-port.ts";
import { EMPTY_GRPC_MESSAGE, GRPC_OK_TRAILERS } from "./raw-grpc.ts";

const app = Fastify({
  logger: false,
  serverFactory: (handler) =>
    createOnePortServer(handler as RequestHandler, {
      idleTimeoutMs: 65_000,
      requestTimeoutMs: 300_000,
      forceCloseAfterMs: 1000,
    }) as unknown as http.Server,
});
app.get("/healthz", async () => ({ status: "ok" }));
if (process.argv.includes("--without-connect")) {
  await app.register(async (scope) => {
    scope.addContentTypeParser("application/grpc+proto", { parseAs: "buffer" }, (_req, body, done) => done(null, body));
    scope.post(`/${ChaukasServerService.typeName}/${ChaukasServerService.method.healthz.name}`, (_req, reply) => {
      reply.hijack();
      reply.raw.writeHead(200, { "content-type": "application/grpc+proto" });
      reply.raw.addTrailers(GRPC_OK_TRAILERS);
      reply.raw.end(EMPTY_GRPC_MESSAGE);
    });
  });
} else {
  await app.register(fastifyConnectPlugin, {
    routes: (router) => router.service(ChaukasServerService, { healthz: () => create(HealthzResponseSchema) }),
  });
}
const port = process.argv.includes("--port") ? Number(process.argv[process.argv.indexOf("--port") + 1]) : 0;
const address = await app.listen({ host: "127.0.0.1", port });
console.log(`Server listening at ${address}`);
process.once("SIGTERM", () => void app.close());
