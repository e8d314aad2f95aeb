import {
  Code,
  ConnectError,
  type ContextValues,
  createContextKey,
  createContextValues,
  type HandlerContext,
  type Interceptor,
} from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from "fastify";
import type { Metrics, RequestLabels } from "../../lib/metrics.ts";

/** What the interceptor learns about one RPC, read back when its response is finished. */
interface RpcOutcome {
  code?: string;
  /** Answered by direct-unary.ts rather than connect-node. */
  direct?: boolean;
}

const outcomeKey = createContextKey<RpcOutcome | undefined>(undefined);
const outcomes = new WeakMap<FastifyRequest, RpcOutcome>();

/**
 * One log line per request: procedure (the path, never the query string), Connect code, whether
 * direct-unary.ts answered it, HTTP status, duration. The code comes from an
 * interceptor; requests refused before a handler runs (undecodable body, wrong content type, too
 * large) have none and are told by their HTTP status. Handler exceptions that Connect turns into a
 * bare `internal` are logged with their cause. Each request is also counted and timed in `metrics`.
 */
export function rpcLogging(app: FastifyInstance, metrics: Metrics) {
  app.addHook("onRequest", (request, reply, done) => {
    const outcome: RpcOutcome = {};
    outcomes.set(request, outcome);
    const start = process.hrtime.bigint();
    reply.raw.once("close", () => {
      const durationMs = Number(process.hrtime.bigint() - start) / 1e6;
      metrics.requestFinished(requestLabels(request, outcome.code, reply.raw.statusCode), durationMs / 1000);
      request.log.info(
        {
          procedure: pathOf(request.url),
          code: outcome.code,
          direct: outcome.direct,
          status: reply.raw.statusCode,
          durationMs: Math.round(durationMs * 10) / 10,
        },
        "rpc",
      );
    });
    done();
  });

  const interceptor: Interceptor = (next) => async (req) => {
    const outcome = req.contextValues.get(outcomeKey);
    try {
      const res = await next(req);
      if (outcome) outcome.code = "ok";
      return res;
    } catch (err) {
      recordFailure(req.contextValues, req.url, err);
      throw err;
    }
  };

  /** Wraps Connect's request gate, so the RPCs it refuses unread are logged with their code too. */
  const gated =
    (gate: (ctx: HandlerContext) => Promise<void>) =>
    async (ctx: HandlerContext): Promise<void> => {
      try {
        await gate(ctx);
      } catch (err) {
        recordFailure(ctx.values, ctx.url, err);
        throw err;
      }
    };

  const contextValues = (request: FastifyRequest) =>
    createContextValues().set(outcomeKey, outcomes.get(request)).set(loggerKey, request.log);

  /** Notes that this request was answered by direct-unary.ts, for its log line. */
  const answeredDirectly = (request: FastifyRequest) => {
    const outcome = outcomes.get(request);
    if (outcome) outcome.direct = true;
  };

  return { interceptor, gated, contextValues, answeredDirectly };
}

/**
 * A request's metric labels, all from fixed sets: an RPC's service and method come from its route
 * (one per registered method), a plain route's from its pattern, never from the URL as sent.
 */
function requestLabels(request: FastifyRequest, code: string | undefined, status: number): RequestLabels {
  const { config, url: route } = request.routeOptions;
  if (config.rpc && route) {
    const slash = route.lastIndexOf("/");
    return {
      service: route.slice(1, slash),
      method: route.slice(slash + 1),
      protocol: rpcProtocol(request.headers["content-type"]),
      code: code ?? `http_${status}`,
    };
  }
  return {
    service: config.api ?? "http",
    method: route ? `${request.method} ${route}` : "unmatched",
    protocol: "http",
    code: String(status),
  };
}

function rpcProtocol(contentType: string | undefined): string {
  if (contentType?.startsWith("application/grpc-web")) return "grpc-web";
  if (contentType?.startsWith("application/grpc")) return "grpc";
  return "connect";
}

const loggerKey = createContextKey<FastifyBaseLogger | undefined>(undefined);

/** A URL without its query string: that may carry secrets or personal data, and is never logged. */
function pathOf(url: string): string {
  const end = url.search(/[?#]/);
  return end === -1 ? url : url.slice(0, end);
}

/**
 * Notes a failed RPC's code for its log line; logs internal errors with their cause, overload
 * refusals, and database outages with the database's own error.
 */
function recordFailure(values: ContextValues, url: string, err: unknown): void {
  const procedure = pathOf(url);
  const connectError = ConnectError.from(err);
  const outcome = values.get(outcomeKey);
  if (outcome) outcome.code = codeToString(connectError.code);
  const log = values.get(loggerKey);
  if (connectError.code === Code.Internal || connectError.code === Code.Unknown) {
    log?.error({ err, procedure }, "rpc failed with an internal error");
  } else if (connectError.code === Code.ResourceExhausted) {
    // The message names the bound (ingest, body bytes, rate, failed authentications) and its pressure.
    log?.warn({ procedure, reason: connectError.rawMessage }, "rpc refused: over a bound");
  } else if (connectError.code === Code.Unavailable) {
    // The answer says only that the database cannot serve; the log keeps its own error.
    log?.warn({ err, procedure }, "rpc failed: the database is unavailable");
  }
}
