import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Principal } from "../../core/access.ts";
import type { Authenticator } from "../../core/authenticator.ts";
import { UnauthenticatedError } from "../../lib/errors.ts";
import { connectErrorOf } from "../rpc/connect-errors.ts";
import { type BodyBudget, bodyBytesOf, GROWTH_STEP_BYTES, meteredBody } from "./body-budget.ts";

declare module "fastify" {
  interface FastifyRequest {
    /** The authenticated caller; set for every route not marked `config: { public: true }`. */
    principal?: Principal;
    /** Why an RPC is refused; its Connect handler answers it before reading the body (api/rpc/auth.ts). */
    refusal?: Error;
    /** Grows the budget's reservation for an RPC body of undeclared length as it arrives. */
    bodyReceived?: (bytes: number) => void;
  }
  interface FastifyContextConfig {
    /** Served without a key (health probes, the OpenAPI document, Healthz, GetPublicKey). */
    public?: boolean;
    /** A Connect route (Connect, gRPC, gRPC-Web), whose refusals need that protocol's answer. */
    rpc?: boolean;
    /** The route's own body limit (the OTLP routes'), when it is not the server's. */
    maxBodyBytes?: number;
    /** Which plain HTTP API the route belongs to, for the request metrics (rpc-log.ts). */
    api?: "rest" | "sdk";
  }
}

export interface RequestGateOptions {
  authenticator: Authenticator;
  bodyBudget: BodyBudget;
  maxBodyBytes: number;
}

/**
 * The one gate in front of every route, RPCs included: checks the API key from the headers, then
 * reserves the request's body bytes in the budget, all in `onRequest`, before any body byte is
 * read. Plain routes are refused through their JSON error handler (http-errors.ts); an RPC's refusal
 * is handed to its Connect handler, which answers it in the request's protocol, still unread.
 */
export function requestGate(
  app: FastifyInstance,
  { authenticator, bodyBudget, maxBodyBytes }: RequestGateOptions,
): void {
  app.decorateRequest("principal", undefined);
  app.decorateRequest("refusal", undefined);
  app.decorateRequest("bodyReceived", undefined);
  app.addHook("onRequest", async (request, reply) => {
    const { config } = request.routeOptions;
    const limit = config.maxBodyBytes ?? maxBodyBytes;
    // 'close' comes when the answer is done and when the request is aborted, whatever happened;
    // listened to before authenticating, which may wait, so an abort meanwhile is seen too.
    let closed = false;
    let release = () => {};
    reply.raw.once("close", () => {
      closed = true;
      release();
    });
    try {
      if (!config.public) {
        const apiKey = request.headers["x-api-key"];
        request.principal = await authenticator.authenticate({
          authorization: request.headers.authorization,
          apiKey: Array.isArray(apiKey) ? apiKey[0] : apiKey,
          clientAddress: request.ip,
        });
      }
      if (!closed) {
        const bytes = bodyBytesOf(request.raw, limit);
        if (bytes !== undefined) release = bodyBudget.reserve(bytes);
        else if (!config.rpc) release = bodyBudget.reserve(limit);
        else {
          // gRPC clients declare no length: reserving the whole limit for each call would let a
          // few calls fill the budget. Connect reads `request.body` instead (see below).
          const reservation = bodyBudget.reserveGrowing(Math.min(GROWTH_STEP_BYTES, limit), limit);
          release = reservation.release;
          request.bodyReceived = reservation.grow;
        }
      }
    } catch (err) {
      if (!config.rpc) throw err;
      request.refusal = err as Error;
    }
  });
  // After the envelope check's preHandler (server.ts), whose body this meters in turn. Past the
  // bound, the RPC fails mid-body with the same answer a refusal up front gets.
  app.addHook("preHandler", async (request) => {
    const { bodyReceived } = request;
    if (!bodyReceived) return;
    request.body = meteredBody(receivedBody(request), (bytes) => {
      try {
        bodyReceived(bytes);
      } catch (err) {
        throw connectErrorOf(err);
      }
    });
  });
}

/**
 * An RPC's body as it arrives: through the hooks that check and meter it when they set
 * `request.body` (the envelope check, the budget), else the request itself.
 */
export function receivedBody(request: FastifyRequest): AsyncIterable<Uint8Array> {
  return (request.body as AsyncIterable<Uint8Array> | undefined) ?? request.raw;
}

/** The caller of this request. Refuses (rather than defaulting to anyone) if the request gate did not run. */
export function principalOfRequest(request: { principal?: Principal }): Principal {
  if (!request.principal) throw new UnauthenticatedError("not authenticated");
  return request.principal;
}
