import { Code, ConnectError } from "@connectrpc/connect";
import { OverloadedError } from "../../core/ingest-gate.ts";
import {
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitedError,
  UnauthenticatedError,
  UnavailableError,
} from "../../lib/errors.ts";

/** Runs a handler body and turns domain errors into their Connect codes. */
export async function mapDomainErrors<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw new ConnectError(err.message, Code.InvalidArgument);
    if (err instanceof UnauthenticatedError) throw new ConnectError(err.message, Code.Unauthenticated);
    if (err instanceof PermissionDeniedError) throw new ConnectError(err.message, Code.PermissionDenied);
    if (err instanceof NotFoundError) throw new ConnectError(err.message, Code.NotFound);
    if (err instanceof FailedPreconditionError) throw new ConnectError(err.message, Code.FailedPrecondition);
    if (err instanceof OverloadedError || err instanceof RateLimitedError) {
      throw new ConnectError(err.message, Code.ResourceExhausted, retryAfter(err), undefined, err);
    }
    if (err instanceof UnavailableError) {
      throw new ConnectError(err.message, Code.Unavailable, retryAfter(err), undefined, err);
    }
    throw err;
  }
}

/** The delay travels as a Retry-After header (Connect) or trailer (gRPC, gRPC-Web). */
function retryAfter(err: { retryAfterSeconds: number }): Headers {
  return new Headers({ "retry-after": String(err.retryAfterSeconds) });
}
