/** A failure the CLI reports in one line, `chaukas: <message>`, and exit 1. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CliError";
  }
}

/** A command line the CLI cannot run: reported in one line, then the command's usage, and exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** A flag's value; a UsageError naming the flag as typed when it is missing or empty. */
export function requiredFlag(value: string | undefined, flag: string): string {
  if (!value) throw new UsageError(`${flag} is required`);
  return value;
}
