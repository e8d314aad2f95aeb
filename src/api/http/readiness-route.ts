import type { FastifyInstance } from "fastify";
import type { Readiness } from "../../core/readiness.ts";

/**
 * `GET /readyz` for load balancers and orchestrators, without a key: 200 `{"status":"ready"}`, or
 * 503 in the REST error shape saying why not (database unreachable, migrations missing, draining).
 */
export function readinessRoute(app: FastifyInstance, readiness: Readiness): void {
  app.get("/readyz", { config: { public: true } }, async (_request, reply) => {
    const problem = await readiness.problem();
    if (problem === undefined) return { status: "ready" };
    return reply
      .code(503)
      .header("retry-after", "1")
      .send({ error: "unavailable", message: `not ready: ${problem}` });
  });
}
