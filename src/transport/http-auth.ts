import type { FastifyInstance } from "fastify";
import type { Principal } from "../domain/access.ts";
import type { Authenticator } from "../domain/authenticator.ts";

declare module "fastify" {
  interface FastifyRequest {
    /** The authenticated caller; set for every route not marked `config: { public: true }`. */
    principal?: Principal;
  }
  interface FastifyContextConfig {
    /** Served without a key (health probes, the OpenAPI document). */
    public?: boolean;
  }
}

/** Authenticates the plain HTTP routes of this plugin, as the Connect interceptor does for RPCs. */
export function httpAuth(app: FastifyInstance, authenticator: Authenticator): void {
  app.decorateRequest("principal", undefined);
  // onRequest: a caller without a valid key is refused before its body is read or parsed.
  app.addHook("onRequest", async (request) => {
    if (request.routeOptions.config.public) return;
    const apiKey = request.headers["x-api-key"];
    request.principal = await authenticator.authenticate({
      authorization: request.headers.authorization,
      apiKey: Array.isArray(apiKey) ? apiKey[0] : apiKey,
      clientAddress: request.ip,
    });
  });
}

/** The caller of this request; refuses if authentication did not run. */
export function principalOfRequest(request: { principal?: Principal }): Principal {
  if (!request.principal) throw new Error("route served without authentication");
  return request.principal;
}
