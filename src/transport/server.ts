import type http from "node:http";
import { createRegistry } from "@bufbuild/protobuf";
import {
  file_google_protobuf_any,
  file_google_protobuf_struct,
  file_google_protobuf_timestamp,
} from "@bufbuild/protobuf/wkt";
import { cors as connectCors } from "@connectrpc/connect";
import { fastifyConnectPlugin } from "@connectrpc/connect-fastify";
import fastifyCors from "@fastify/cors";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from "fastify";
import {
  ChaukasClientService,
  file_chaukas_spec_client_v1_client,
} from "../../gen/chaukas/spec/client/v1/client_pb.ts";
import {
  ChaukasServerService,
  file_chaukas_spec_server_v1_server,
} from "../../gen/chaukas/spec/server/v1/server_pb.ts";
import type { EventService } from "../domain/event-service.ts";
import { clientServiceHandlers } from "../service/client-service.ts";
import { serverServiceHandlers } from "../service/server-service.ts";
import { createOnePortServer, type OnePortOptions, type RequestHandler } from "./one-port.ts";
import { rpcLogging } from "./rpc-log.ts";

export interface ServerOptions {
  maxBodyBytes: number;
  corsOrigins: string[];
  tls?: OnePortOptions["tls"];
  shutdownTimeoutMs: number;
  /** A pino logger, or false for none. */
  logger: FastifyBaseLogger | false;
}

/** Every message type a JSON request or response may carry inside a google.protobuf.Any. */
const jsonRegistry = createRegistry(
  file_chaukas_spec_server_v1_server,
  file_chaukas_spec_client_v1_client,
  file_google_protobuf_any,
  file_google_protobuf_struct,
  file_google_protobuf_timestamp,
);

/**
 * The HTTP server: both spec services over gRPC, gRPC-Web and Connect on one port, with CORS for
 * browsers and one log line per RPC. Call `listen` on the result.
 */
export async function buildServer(events: EventService, options: ServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    // rpc-log.ts writes one line per request instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.maxBodyBytes,
    // Fastify's types expect an http.Server; it only calls listen/close/address on it.
    serverFactory: (handler) =>
      createOnePortServer(handler as RequestHandler, {
        tls: options.tls,
        idleTimeoutMs: 65_000,
        requestTimeoutMs: 300_000,
      }) as unknown as http.Server,
  });

  await app.register(fastifyCors, {
    origin: options.corsOrigins,
    methods: [...connectCors.allowedMethods],
    allowedHeaders: [...connectCors.allowedHeaders, "Authorization", "X-Api-Key"],
    exposedHeaders: [...connectCors.exposedHeaders],
    maxAge: 7200,
  });

  const logging = rpcLogging(app);
  await app.register(fastifyConnectPlugin, {
    routes: (router) => {
      router.service(ChaukasServerService, serverServiceHandlers(events, app.log));
      router.service(ChaukasClientService, clientServiceHandlers(events, app.log));
    },
    readMaxBytes: options.maxBodyBytes,
    jsonOptions: { registry: jsonRegistry },
    interceptors: [logging.interceptor],
    contextValues: logging.contextValues,
    shutdownTimeoutMs: options.shutdownTimeoutMs,
  });
  return app;
}
