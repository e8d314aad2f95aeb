import { accessSync, constants, createWriteStream, openSync, statSync, type WriteStream } from "node:fs";
import { CliError } from "./cli-errors.ts";

/** Why a file named on the command line cannot be used, in words rather than an fs error code. */
const REASONS: Record<string, string> = {
  EISDIR: "it is a directory",
  EACCES: "permission denied",
  ENOTDIR: "a part of its path is not a directory",
};

/**
 * Checks that `path` is a file this process can read, so a command fails in one line before it
 * opens a store (a typo must not create a data directory) or reads half of it.
 */
export function checkReadable(path: string): void {
  let directory: boolean;
  try {
    directory = statSync(path).isDirectory();
    accessSync(path, constants.R_OK);
  } catch (err) {
    throw unusable("read", path, err as NodeJS.ErrnoException);
  }
  if (directory) throw new CliError(`cannot read ${path}: ${REASONS.EISDIR}`);
}

/**
 * Opens `path` for writing now: a stream opening it later would report a bad path as an
 * unhandled 'error' event, after the work it was to hold.
 */
export function openForWriting(path: string): WriteStream {
  try {
    return createWriteStream(path, { fd: openSync(path, "w") });
  } catch (err) {
    throw unusable("write", path, err as NodeJS.ErrnoException);
  }
}

function unusable(action: "read" | "write", path: string, err: NodeJS.ErrnoException): Error {
  // Opened for writing, a file is created: what is missing is its directory.
  const missing = action === "read" ? "no such file" : "no such directory";
  const reason = err.code === "ENOENT" ? missing : REASONS[err.code ?? ""];
  return reason ? new CliError(`cannot ${action} ${path}: ${reason}`) : err;
}
