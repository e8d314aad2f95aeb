import type { FastifyRequest, FastifyServerOptions } from "fastify";

type Strategy = NonNullable<NonNullable<FastifyServerOptions["routerOptions"]>["constraints"]>[string];
type RouteHandler = NonNullable<ReturnType<ReturnType<Strategy["storage"]>["get"]>>;

/**
 * Whether an RPC's messages are protobuf binary: every codec but JSON (`application/json`,
 * `application/connect+json`, `application/grpc+json`, `application/grpc-web+json`).
 */
export function isBinaryBody(contentType: string | undefined): boolean {
  return !/json/i.test(contentType ?? "");
}

/**
 * A route constraint (Fastify's `constraints`) on the codec of an RPC's body: "binary" for
 * protobuf (gRPC, gRPC-Web, Connect), "json" otherwise. A route constrained to "binary" takes
 * those requests; the same path's unconstrained route takes the rest.
 */
export const rpcCodecConstraint: Strategy = {
  name: "rpcCodec",
  storage() {
    const handlers = new Map<unknown, RouteHandler>();
    return {
      get: (codec) => handlers.get(codec) ?? null,
      set: (codec, handler) => void handlers.set(codec, handler),
    };
  },
  deriveConstraint: (req: FastifyRequest["raw"]) => (isBinaryBody(req.headers["content-type"]) ? "binary" : "json"),
  validate(codec) {
    if (codec !== "binary" && codec !== "json") throw new Error(`rpcCodec is "binary" or "json", not ${codec}`);
  },
  mustMatchWhenDerived: false,
};

/** An onRoute hook: constrains the routes of the scope it is added to to binary bodies. */
export function binaryBodiesOnly(route: { constraints?: Record<string, unknown> }): void {
  route.constraints = { ...route.constraints, rpcCodec: "binary" };
}
