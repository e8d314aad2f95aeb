/** Errors the domain raises; api/error-answers.ts says how every protocol answers each. */

export interface FieldViolation {
  /** Proto field path, e.g. `event.tenant_id`. */
  field: string;
  description: string;
}

/** The request is wrong and resending it unchanged will fail again. */
export class InvalidArgumentError extends Error {
  readonly violations: FieldViolation[];

  constructor(violations: FieldViolation[]) {
    super(violations.map((v) => `${v.field}: ${v.description}`).join("; "));
    this.name = "InvalidArgumentError";
    this.violations = violations;
  }
}

/** The request body is larger than the route accepts (after decompression too); resending it unchanged will fail again. */
export class TooLargeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TooLargeError";
  }
}

/** A dependency (the database) cannot be reached right now; retrying later may succeed. */
export class UnavailableError extends Error {
  /** How long the client should wait before retrying. */
  readonly retryAfterSeconds = 1;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "UnavailableError";
  }
}

/** No credentials, or credentials that are unknown or revoked. */
export class UnauthenticatedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnauthenticatedError";
  }
}

/** Valid credentials used beyond their role, tenant or projects. */
export class PermissionDeniedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PermissionDeniedError";
  }
}

/** The caller sent more than its rate allows; it may retry after `retryAfterSeconds`. */
export class RateLimitedError extends Error {
  readonly retryAfterSeconds: number;

  constructor(message: string, retryAfterSeconds: number) {
    super(message);
    this.name = "RateLimitedError";
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** What the request names does not exist. */
export class NotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NotFoundError";
  }
}

/** The request is valid but the system is not yet in the state it needs; it may succeed later. */
export class FailedPreconditionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FailedPreconditionError";
  }
}

/** Ingest is refused because the server is over its bound; the client should retry later, smaller. */
export class OverloadedError extends Error {
  /** How long the client should wait before retrying. */
  readonly retryAfterSeconds: number;

  constructor(message: string, retryAfterSeconds: number) {
    // The Python SDK halves its batch when a 503 body says "high memory usage" (any case).
    super(`high memory usage: ${message}; retry later with a smaller batch`);
    this.name = "OverloadedError";
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** The caller already holds as many of a bounded resource (open streams) as it may; closing one frees a place. */
export class LimitReachedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LimitReachedError";
  }
}
