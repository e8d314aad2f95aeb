import type http from "node:http";
import { cors as connectCors } from "@connectrpc/connect";
import { fastifyConnectPlugin } from "@connectrpc/connect-fastify";
import fastifyCors from "@fastify/cors";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest, LogController } from "fastify";
import { AdminService } from "../../gen/chaukas/backend/v1/admin_pb.ts";
import { AuditService } from "../../gen/chaukas/backend/v1/audit_pb.ts";
import { RedactionService } from "../../gen/chaukas/backend/v1/redaction_pb.ts";
import { SessionService } from "../../gen/chaukas/backend/v1/sessions_pb.ts";
import { TailService } from "../../gen/chaukas/backend/v1/tail_pb.ts";
import { ChaukasClientService } from "../../gen/chaukas/spec/client/v1/client_pb.ts";
import { ChaukasServerService } from "../../gen/chaukas/spec/server/v1/server_pb.ts";
import { jsonRegistry } from "../codec/formats/registry.ts";
import type { Administration } from "../core/administration.ts";
import type { AuditTrail } from "../core/audit/audit-trail.ts";
import type { Authenticator } from "../core/authenticator.ts";
import type { EventService } from "../core/event-service.ts";
import { OtlpIngest } from "../core/otlp/otlp-ingest.ts";
import type { TailHub } from "../core/tail/tail-hub.ts";
import { type Metrics, NO_METRICS } from "../lib/metrics.ts";
import type { BodyBudget } from "./http/body-budget.ts";
import { requestGate } from "./http/http-auth.ts";
import { httpErrorHandler, notFoundHandler } from "./http/http-errors.ts";
import { restRoutes } from "./http/rest-routes.ts";
import { sdkRoutes } from "./http/sdk-routes.ts";
import { type UiOptions, uiRoutes } from "./http/ui-routes.ts";
import { createOnePortServer, type OnePortOptions, type RequestHandler } from "./one-port.ts";
import { otlpRoutes } from "./otlp/otlp-routes.ts";
import { otlpServices } from "./otlp/otlp-services.ts";
import { adminServiceHandlers } from "./rpc/admin-service.ts";
import { auditServiceHandlers } from "./rpc/audit-service.ts";
import { answerRefusal, markRpcRoute, withGateOutcome } from "./rpc/auth.ts";
import { binaryBodiesOnly, rpcCodecConstraint } from "./rpc/binary-rpc.ts";
import { clientServiceHandlers } from "./rpc/client-service.ts";
import { ANSWER_COMPRESSIONS, compressGrpcAnswersAsTheirRequests } from "./rpc/compression.ts";
import { DirectUnary } from "./rpc/direct-unary.ts";
import { hintEnumNames } from "./rpc/enum-name-hint.ts";
import { checkEnvelopeFlags } from "./rpc/envelope-flags.ts";
import { redactionServiceHandlers } from "./rpc/redaction-service.ts";
import { rpcLogging } from "./rpc/rpc-log.ts";
import { serverServiceHandlers } from "./rpc/server-service.ts";
import { sessionServiceHandlers } from "./rpc/session-service.ts";
import { tailServiceHandlers } from "./rpc/tail-service.ts";
import { wireIngestRoutes } from "./rpc/wire-ingest.ts";

/**
 * Unary calls served directly for the common shapes (direct-unary.ts, ADRs 0025 and 0027): every
 * unary call of the spec services but IngestEventBatch, whose large bodies stay connect-node's,
 * and the reads of the session and audit services. None of their handlers reads `ctx.signal`,
 * which the direct path never aborts.
 */
const DIRECT_SPEC_CALLS = ["healthz", "getCapabilities", "ingestEvent", "queryEvents"] as const;
const DIRECT_SERVER_CALLS = [...DIRECT_SPEC_CALLS, "getEventStats"] as const;
const DIRECT_SESSION_CALLS = ["listSessions", "getUsage"] as const;
const DIRECT_AUDIT_CALLS = ["getCheckpoint", "getInclusionProof", "getConsistencyProof", "getPublicKey"] as const;

export interface ServerOptions {
  /** Checkpoints and proofs of the audit trail, served by chaukas.backend.v1.AuditService. */
  audit: AuditTrail;
  /** Keys, export, import and verification for admin keys, served by chaukas.backend.v1.AdminService; not served without it. */
  admin?: Administration;
  /** The live tail, served by chaukas.backend.v1.TailService; without it the service is not served. */
  tail?: TailHub;
  maxBodyBytes: number;
  /** Bounds the bytes of request bodies held in memory at once, across all requests. */
  bodyBudget: BodyBudget;
  corsOrigins: string[];
  tls?: OnePortOptions["tls"];
  shutdownTimeoutMs: number;
  /** Checks API keys on every route but the public ones (NO_AUTH with --insecure-no-auth). */
  authenticator: Authenticator;
  /** Where the Python SDK's `/events` routes live, e.g. `/api`; empty for the root. */
  sdkPathPrefix: string;
  /** OTLP/HTTP and OTLP/gRPC: the largest export body (compressed or not), and where `/v1/traces` and `/v1/logs` live. */
  otlp: { maxBodyBytes: number; pathPrefix: string };
  /** A pino logger, or false for none. */
  logger: FastifyBaseLogger | false;
  /** The dashboard at `/` (ui-routes.ts); undefined: not served. */
  ui?: Omit<UiOptions, "sdkPathPrefix">;
  /** Told of every request and ingested event; none when undefined. */
  metrics?: Metrics;
}

/**
 * The HTTP server: both spec services, the audit service, the live tail and the session views over gRPC,
 * gRPC-Web and Connect on one port, the Python SDK's routes, the spec's public REST API and OTLP
 * (HTTP and gRPC) beside them, the dashboard, CORS for browsers, and one log line per
 * request. Call `listen` on the result.
 */
export async function buildServer(events: EventService, options: ServerOptions): Promise<FastifyInstance> {
  const otlp = new OtlpIngest(events);
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    // rpc-log.ts writes one line per request instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.maxBodyBytes,
    routerOptions: { constraints: { rpcCodec: rpcCodecConstraint } },
    // Fastify's types expect an http.Server; it only calls listen/close/address on it.
    serverFactory: (handler) =>
      createOnePortServer(handler as RequestHandler, {
        tls: options.tls,
        idleTimeoutMs: 65_000,
        requestTimeoutMs: 300_000,
        // Connect aborts in-flight handlers at shutdownTimeoutMs; connections go a moment later.
        forceCloseAfterMs: options.shutdownTimeoutMs + 1000,
      }) as unknown as http.Server,
  });

  await app.register(fastifyCors, {
    origin: options.corsOrigins,
    methods: [...connectCors.allowedMethods],
    allowedHeaders: [...connectCors.allowedHeaders, "Authorization", "X-Api-Key"],
    exposedHeaders: [...connectCors.exposedHeaders],
    maxAge: 7200,
  });

  // Open tails end themselves (with a cursor to resume from) before connections are drained.
  const tail = options.tail;
  if (tail) app.addHook("preClose", async () => tail.close());
  const metrics = options.metrics ?? NO_METRICS;
  const logging = rpcLogging(app, metrics);
  checkEnvelopeFlags(app);
  compressGrpcAnswersAsTheirRequests(app);
  // After CORS, which answers preflights itself; the root error handler answers unknown paths.
  httpErrorHandler(app);
  notFoundHandler(app);
  requestGate(app, {
    authenticator: options.authenticator,
    bodyBudget: options.bodyBudget,
    maxBodyBytes: options.maxBodyBytes,
  });
  const connectOptions = {
    readMaxBytes: options.maxBodyBytes,
    acceptCompression: ANSWER_COMPRESSIONS,
    // Unknown JSON fields and enum names are refused rather than silently dropped: an unknown
    // severity must not be stored as UNSPECIFIED and answered "accepted".
    jsonOptions: { registry: jsonRegistry, ignoreUnknownFields: false },
    interceptors: [logging.interceptor],
    // The request gate's refusals are answered before the body is read.
    requestGate: logging.gated(answerRefusal),
    contextValues: (request: FastifyRequest) => withGateOutcome(request, logging.contextValues(request)),
    shutdownTimeoutMs: options.shutdownTimeoutMs,
  };
  // Unary calls of the common shapes skip connect-node's per-call work (direct-unary.ts).
  const direct = new DirectUnary({ ...connectOptions, answeredDirectly: logging.answeredDirectly });
  await app.register(async (rpc) => {
    rpc.addHook("onRoute", markRpcRoute);
    await rpc.register(async (spec) => {
      // This scope's routes only: the binary ingest routes share paths with these.
      spec.addHook("onRoute", direct.onRoute);
      await spec.register(fastifyConnectPlugin, {
        ...connectOptions,
        routes: (router) => {
          const serverService = serverServiceHandlers(events, app.log, metrics);
          const clientService = clientServiceHandlers(events, app.log, metrics);
          const auditService = auditServiceHandlers(options.audit);
          const sessionService = sessionServiceHandlers(events.sessions);
          router.service(ChaukasServerService, serverService);
          router.service(ChaukasClientService, clientService);
          router.service(AuditService, auditService);
          router.service(SessionService, sessionService);
          direct.add(ChaukasServerService, serverService, DIRECT_SERVER_CALLS);
          direct.add(ChaukasClientService, clientService, DIRECT_SPEC_CALLS);
          direct.add(AuditService, auditService, DIRECT_AUDIT_CALLS);
          direct.add(SessionService, sessionService, DIRECT_SESSION_CALLS);
          router.service(RedactionService, redactionServiceHandlers(events.redactions));
          if (options.admin) router.service(AdminService, adminServiceHandlers(options.admin));
          // Each streamed message would be compressed alone: a zlib stream per event cost the server
          // more than the rest of the tail together, for ~1 KB messages.
          if (options.tail) {
            router.service(TailService, tailServiceHandlers(options.tail), {
              compressMinBytes: Number.MAX_SAFE_INTEGER,
            });
          }
          hintEnumNames(router);
        },
      });
    });
    // Binary ingest requests go to the same methods reading each event from its bytes (wire-ingest.ts).
    const directWire = new DirectUnary({ ...connectOptions, answeredDirectly: logging.answeredDirectly });
    await rpc.register(async (binary) => {
      binary.addHook("onRoute", binaryBodiesOnly);
      binary.addHook("onRoute", directWire.onRoute);
      await binary.register(fastifyConnectPlugin, {
        ...connectOptions,
        routes: (router) => wireIngestRoutes(router, events, app.log, metrics, directWire),
      });
    });
    // OTLP/gRPC exports may be as large as OTLP/HTTP ones.
    await rpc.register(async (otlpRpc) => {
      otlpRpc.addHook("onRoute", (route) => {
        route.config = { ...route.config, maxBodyBytes: options.otlp.maxBodyBytes };
      });
      await otlpRpc.register(fastifyConnectPlugin, {
        ...connectOptions,
        readMaxBytes: options.otlp.maxBodyBytes,
        routes: (router) => otlpServices(router, otlp),
      });
    });
  });
  // Plain HTTP routes, each plugin with its own body parsers and JSON error answers.
  await app.register(sdkRoutes, { events, metrics, prefix: options.sdkPathPrefix });
  await app.register(restRoutes, { events, metrics });
  await app.register(otlpRoutes, { otlp, maxBodyBytes: options.otlp.maxBodyBytes, prefix: options.otlp.pathPrefix });
  if (options.ui) await app.register(uiRoutes, { ...options.ui, sdkPathPrefix: options.sdkPathPrefix });
  return app;
}
