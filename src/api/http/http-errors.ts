import { Code } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { InvalidArgumentError, OverloadedError, UnavailableError } from "../../lib/errors.ts";
import { errorAnswer } from "../error-answers.ts";

/**
 * Error answers of every route, in one of the project's two shapes: the plain HTTP routes' (the
 * SDK's and the public REST API's) JSON `{error, message, violations?}`, and, on an RPC path,
 * Connect's `{code, message}`, with the HTTP status a client acts on. Fastify's own refusals (body
 * unparseable, too large, of a type no parser takes) and unknown paths are answered so too.
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
      return send(request, reply, answer.status, answer.code, {
        error: answer.error,
        message: err.message,
        ...violations,
      });
    }
    const status = "statusCode" in err && typeof err.statusCode === "number" ? err.statusCode : 500;
    if (status >= 500) {
      request.log.error({ err }, "request failed");
      return send(request, reply, 500, Code.Internal, { error: "internal", message: "internal error" });
    }
    // Fastify's own refusals: unparseable JSON (400), body too large (413), unsupported type (415).
    if (status === 415) {
      const type = request.headers["content-type"];
      const message = type ? `Content-Type "${type}" is not accepted here` : "a body needs a Content-Type";
      return send(request, reply, 415, Code.InvalidArgument, { error: "unsupported_media_type", message });
    }
    if (status === 413) {
      return send(request, reply, 413, Code.ResourceExhausted, { error: "resource_exhausted", message: err.message });
    }
    if (status !== 400)
      return send(request, reply, status, Code.InvalidArgument, { error: "invalid_argument", message: err.message });
    // Shaped as InvalidArgumentError's answer (the body is the bad field), so every 400 looks alike.
    const violation = { field: "body", description: err.message };
    return send(request, reply, 400, Code.InvalidArgument, {
      error: "invalid_argument",
      message: `body: ${err.message}`,
      violations: [violation],
    });
  });
}

/**
 * Unknown paths: Connect's `unimplemented` for what looks like a procedure (`/package.Service/Method`),
 * the REST `not_found` otherwise. Both HTTP 404, which gRPC clients also read as `unimplemented`.
 */
export function notFoundHandler(app: FastifyInstance): void {
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split(/[?#]/)[0];
    if (PROCEDURE.test(path)) {
      return reply.code(404).send({ code: codeToString(Code.Unimplemented), message: `no procedure ${path} here` });
    }
    return reply.code(404).send({ error: "not_found", message: `no route ${request.method} ${path}` });
  });
}

const PROCEDURE = /^\/[A-Za-z_][\w]*(\.[A-Za-z_]\w*)+\/[A-Za-z_]\w*$/;

/** The plain routes' body, or on an RPC route its Connect equivalent: the same message, the code by name. */
function send(
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  code: Code,
  body: { error: string; message: string; violations?: unknown[] },
) {
  const json = request.routeOptions.config.rpc ? { code: codeToString(code), message: body.message } : body;
  return reply.code(status).send(json);
}
