/** Errors the domain raises; the service layer maps each to its Connect code. */

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

/** A dependency (the database) cannot be reached right now; retrying later may succeed. */
export class UnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "UnavailableError";
  }
}
