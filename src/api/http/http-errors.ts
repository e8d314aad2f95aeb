import type { FastifyError, FastifyInstance } from "fastify";
import { OverloadedError } from "../../core/ingest-gate.ts";
import {
  InvalidArgumentError,
  PermissionDeniedError,
  RateLimitedError,
  UnauthenticatedError,
  UnavailableError,
} from "../../lib/errors.ts";

/**
 * Error answers of the plain HTTP routes (the SDK's and the public REST API), as JSON:
 * `{error, message, violations?}` with the HTTP status a client acts on.
 */
export function httpErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | Error, request, reply) => {
    if (err instanceof InvalidArgumentError) {
      return reply.code(400).send({ error: "invalid_argument", message: err.message, violations: err.violations });
    }
    if (err instanceof UnauthenticatedError) {
      return reply
        .code(401)
        .header("www-authenticate", "Bearer")
        .send({ error: "unauthenticated", message: err.message });
    }
    if (err instanceof PermissionDeniedError) {
      return reply.code(403).send({ error: "permission_denied", message: err.message });
    }
    if (err instanceof RateLimitedError) {
      return reply
        .code(429)
        .header("retry-after", String(err.retryAfterSeconds))
        .send({ error: "resource_exhausted", message: err.message });
    }
    if (err instanceof OverloadedError) {
      request.log.warn({ reason: err.message }, "ingest refused: over the ingest bound");
      return reply
        .code(503)
        .header("retry-after", String(err.retryAfterSeconds))
        .send({ error: "unavailable", message: err.message });
    }
    if (err instanceof UnavailableError) {
      request.log.warn({ err }, "request failed: the database is unavailable");
      return reply
        .code(503)
        .header("retry-after", String(err.retryAfterSeconds))
        .send({ error: "unavailable", message: err.message });
    }
    const status = "statusCode" in err && typeof err.statusCode === "number" ? err.statusCode : 500;
    if (status >= 500) {
      request.log.error({ err }, "request failed");
      return reply.code(500).send({ error: "internal", message: "internal error" });
    }
    // Fastify's own refusals: unparseable JSON (400), body too large (413), unsupported type (415).
    if (status === 400) {
      // Shaped as InvalidArgumentError's answer (the body is the bad field), so every 400 looks alike.
      const violation = { field: "body", description: err.message };
      return reply
        .code(400)
        .send({ error: "invalid_argument", message: `body: ${err.message}`, violations: [violation] });
    }
    return reply.code(status).send({ error: codeForStatus(status), message: err.message });
  });
}

function codeForStatus(status: number): string {
  if (status === 413) return "resource_exhausted";
  if (status === 415) return "unsupported_media_type";
  return "invalid_argument";
}
