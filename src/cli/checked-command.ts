/** Where a command prints: results to one, messages to the other. */
export type Print = (line: string) => void;

/**
 * A command line with its flags checked, ready to run on `Target` (a store or an administration).
 * Made before any store is opened, so a usage error never creates a data directory or connects.
 */
export interface CheckedCommand<Target> {
  /** It only reads: an embedded data directory that holds no database is refused, not created. */
  readonly readOnly: boolean;
  /** Does the work; returns the exit code. `out` gets results, `err` messages. */
  run(target: Target, out: Print, err: Print): Promise<number>;
}
