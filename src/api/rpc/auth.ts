import { type ContextValues, createContextKey, type HandlerContext } from "@connectrpc/connect";
import type { FastifyRequest, RouteOptions } from "fastify";
import type { Principal } from "../../core/access.ts";
import { UnauthenticatedError } from "../../lib/errors.ts";
import { connectErrorOf } from "./connect-errors.ts";

/** The authenticated caller of an RPC, from the request gate (api/http/http-auth.ts). */
const principalKey = createContextKey<Principal | undefined>(undefined, { description: "authenticated caller" });
/** Why the request gate refused this RPC. */
const refusalKey = createContextKey<Error | undefined>(undefined, { description: "refusal" });

/**
 * RPCs anyone may call: load-balancer probes must not need a key, and an auditor the checkpoint
 * signing key. Neither reveals anything about any tenant.
 */
const PUBLIC_METHODS = new Set(["Healthz", "GetPublicKey"]);

/**
 * An onRoute hook for the Connect plugins' routes (`/<service>/<method>`): marks them as RPCs, and
 * those of PUBLIC_METHODS as public, for the request gate.
 */
export function markRpcRoute(route: RouteOptions): void {
  const method = route.url.slice(route.url.lastIndexOf("/") + 1);
  route.config = { ...route.config, rpc: true, public: PUBLIC_METHODS.has(method) };
}

/** Carries the request gate's outcome (caller or refusal) from the Fastify request into the RPC's context. */
export function withGateOutcome(request: FastifyRequest, values: ContextValues): ContextValues {
  return values.set(principalKey, request.principal).set(refusalKey, request.refusal);
}

/**
 * Connect's request gate, run before the body is received: answers the request gate's refusal
 * (unauthenticated, resource_exhausted) in the RPC's protocol, so a refused RPC is never read.
 */
export async function answerRefusal(ctx: HandlerContext): Promise<void> {
  const refusal = ctx.values.get(refusalKey);
  if (refusal) throw connectErrorOf(refusal);
}

/** The caller of this RPC. Refuses (rather than defaulting to anyone) if the request gate did not run. */
export function principalOf(ctx: HandlerContext | { values: ContextValues }): Principal {
  const principal = ctx.values.get(principalKey);
  if (!principal) throw new UnauthenticatedError("not authenticated");
  return principal;
}
