import { type FieldViolation, InvalidArgumentError } from "../lib/errors.ts";

/**
 * PostgreSQL text cannot hold NUL: an id carrying one matches no row, and sent to the database it
 * fails the whole statement. Every id a request names is checked here before it goes further.
 */
export const NUL_PROBLEM = "must not contain the NUL character";

/** One violation per id (keyed by its field path) that holds NUL. */
export function idViolations(ids: Record<string, string>): FieldViolation[] {
  return Object.entries(ids)
    .filter(([, value]) => value.includes("\0"))
    .map(([field]) => ({ field, description: NUL_PROBLEM }));
}

/** Refuses the request when any of its ids (keyed by field path) holds NUL. */
export function checkIds(ids: Record<string, string>): void {
  const violations = idViolations(ids);
  if (violations.length > 0) throw new InvalidArgumentError(violations);
}
