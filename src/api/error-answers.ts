import { Code } from "@connectrpc/connect";
import {
  FailedPreconditionError,
  InvalidArgumentError,
  LimitReachedError,
  NotFoundError,
  OverloadedError,
  PermissionDeniedError,
  RateLimitedError,
  TooLargeError,
  UnauthenticatedError,
  UnavailableError,
} from "../lib/errors.ts";

/**
 * How every protocol answers a domain error: the Connect code (Connect, gRPC, gRPC-Web), and the
 * HTTP status and JSON `error` of the plain HTTP routes (the SDK's and REST). An error that says
 * when to retry is answered with Retry-After in every protocol. Any other error is internal.
 */
export interface ErrorAnswer {
  code: Code;
  status: number;
  error: string;
  retryAfterSeconds?: number;
}

type DomainError = abstract new (...args: never[]) => Error;

const ANSWERS: readonly [DomainError, Omit<ErrorAnswer, "retryAfterSeconds">][] = [
  [InvalidArgumentError, { code: Code.InvalidArgument, status: 400, error: "invalid_argument" }],
  [UnauthenticatedError, { code: Code.Unauthenticated, status: 401, error: "unauthenticated" }],
  [PermissionDeniedError, { code: Code.PermissionDenied, status: 403, error: "permission_denied" }],
  [NotFoundError, { code: Code.NotFound, status: 404, error: "not_found" }],
  [FailedPreconditionError, { code: Code.FailedPrecondition, status: 400, error: "failed_precondition" }],
  [TooLargeError, { code: Code.ResourceExhausted, status: 413, error: "resource_exhausted" }],
  [RateLimitedError, { code: Code.ResourceExhausted, status: 429, error: "resource_exhausted" }],
  [LimitReachedError, { code: Code.ResourceExhausted, status: 429, error: "resource_exhausted" }],
  // A 503 over HTTP: the Python SDK halves its batch when a 503 says "high memory usage".
  [OverloadedError, { code: Code.ResourceExhausted, status: 503, error: "unavailable" }],
  [UnavailableError, { code: Code.Unavailable, status: 503, error: "unavailable" }],
];

/** The answer to `err`, or undefined when it is not a domain error. */
export function errorAnswer(err: unknown): ErrorAnswer | undefined {
  for (const [type, answer] of ANSWERS) {
    if (err instanceof type) {
      const { retryAfterSeconds } = err as { retryAfterSeconds?: number };
      return retryAfterSeconds === undefined ? answer : { ...answer, retryAfterSeconds };
    }
  }
  return undefined;
}
