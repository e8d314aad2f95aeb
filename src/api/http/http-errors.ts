import type { FastifyError, FastifyInstance } from "fastify";
import { InvalidArgumentError, OverloadedError, UnavailableError } from "../../lib/errors.ts";
import { errorAnswer } from "../error-answers.ts";

/**
 * Error answers of the plain HTTP routes (the SDK's and the public REST API), as JSON:
 * `{error, message, violations?}` with the HTTP status a client acts on.
 */
export function httpErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | Error, request, reply) => {
    const answer = errorAnswer(err);
    if (answer) {
      if (err instanceof OverloadedError) {
        request.log.warn({ reason: err.message }, "request refused: over a bound");
      } else if (err instanceof UnavailableError) {
        request.log.warn({ err }, "request failed: the database is unavailable");
      }
      // RFC 9110: a 401 names the scheme that would be accepted.
      if (answer.status === 401) reply.header("www-authenticate", "Bearer");
      if (answer.retryAfterSeconds !== undefined) reply.header("retry-after", String(answer.retryAfterSeconds));
      const violations = err instanceof InvalidArgumentError ? { violations: err.violations } : {};
      return reply.code(answer.status).send({ error: answer.error, message: err.message, ...violations });
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
