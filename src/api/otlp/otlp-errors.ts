import { Code } from "@connectrpc/connect";
import type { FastifyError, FastifyInstance } from "fastify";
import { rpcStatusBinary } from "../../codec/rpc-status.ts";
import { OverloadedError, UnavailableError } from "../../lib/errors.ts";
import { errorAnswer } from "../error-answers.ts";
import { isOtlpJson } from "./otlp-body.ts";

/** Fastify's own refusals (unparseable, too large, unsupported type) as gRPC codes for the Status body. */
const FASTIFY_CODES: Record<number, Code> = {
  400: Code.InvalidArgument,
  413: Code.ResourceExhausted,
  415: Code.InvalidArgument,
};

/**
 * Error answers of the OTLP/HTTP routes: the HTTP status of the one error table (error-answers.ts),
 * with a google.rpc.Status body in the request's encoding, as the OTLP specification asks;
 * Retry-After on the retryable ones (429, 503), which OTel exporters honour.
 */
export function otlpErrorHandler(app: FastifyInstance, limits: { maxBodyBytes: number; types: string[] }): void {
  app.setErrorHandler((err: FastifyError | Error, request, reply) => {
    const answer = errorAnswer(err);
    let status: number;
    let code: Code;
    let message = err.message;
    if (answer) {
      ({ status, code } = answer);
      if (err instanceof OverloadedError)
        request.log.warn({ reason: err.message }, "OTLP export refused: over a bound");
      else if (err instanceof UnavailableError)
        request.log.warn({ err }, "OTLP export failed: the database is unavailable");
      if (status === 401) reply.header("www-authenticate", "Bearer");
      if (answer.retryAfterSeconds !== undefined) reply.header("retry-after", String(answer.retryAfterSeconds));
    } else {
      const fastifyStatus = "statusCode" in err && typeof err.statusCode === "number" ? err.statusCode : 500;
      status = FASTIFY_CODES[fastifyStatus] === undefined ? 500 : fastifyStatus;
      code = FASTIFY_CODES[fastifyStatus] ?? Code.Internal;
      // Said so that the exporter's operator knows what to change.
      if ((err as FastifyError).code === "FST_ERR_CTP_BODY_TOO_LARGE") {
        message = `the body is larger than the limit of ${limits.maxBodyBytes} bytes (--otlp-max-body-bytes)`;
      } else if ((err as FastifyError).code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") {
        message = `content type ${request.headers["content-type"] ?? "(none)"} is not taken: send ${limits.types.join(" or ")}`;
      }
      if (status === 500) {
        request.log.error({ err }, "OTLP export failed");
        message = "internal error";
      }
    }
    reply.code(status);
    if (isOtlpJson(request)) return reply.type("application/json").send({ code, message });
    return reply.type("application/x-protobuf").send(Buffer.from(rpcStatusBinary(code, message)));
  });
}
