import { type ContextValues, createContextKey, type HandlerContext, type Interceptor } from "@connectrpc/connect";
import type { Principal } from "../domain/access.ts";
import type { Authenticator } from "../domain/authenticator.ts";
import { UnauthenticatedError } from "../domain/errors.ts";
import { mapDomainErrors } from "./connect-errors.ts";

/** The authenticated caller of an RPC, set by the auth interceptor. */
const principalKey = createContextKey<Principal | undefined>(undefined, { description: "authenticated caller" });
/** The address an RPC came from (server.ts sets it), for the limit on failed authentications. */
export const clientAddressKey = createContextKey<string | undefined>(undefined, { description: "client address" });

/**
 * RPCs anyone may call: load-balancer probes must not need a key, and an auditor the checkpoint
 * signing key. Neither reveals anything about any tenant.
 */
const PUBLIC_METHODS = new Set(["Healthz", "GetPublicKey"]);

/** Authenticates every RPC but Healthz from `Authorization: Bearer` or `X-Api-Key`. */
export function authInterceptor(authenticator: Authenticator): Interceptor {
  return (next) => async (req) => {
    if (!PUBLIC_METHODS.has(req.method.name)) {
      const principal = await mapDomainErrors(() =>
        authenticator.authenticate({
          authorization: req.header.get("authorization"),
          apiKey: req.header.get("x-api-key"),
          clientAddress: req.contextValues.get(clientAddressKey),
        }),
      );
      req.contextValues.set(principalKey, principal);
    }
    return next(req);
  };
}

/** The caller of this RPC. Refuses (rather than defaulting to anyone) if the interceptor did not run. */
export function principalOf(ctx: HandlerContext | { values: ContextValues }): Principal {
  const principal = ctx.values.get(principalKey);
  if (!principal) throw new UnauthenticatedError("not authenticated");
  return principal;
}
