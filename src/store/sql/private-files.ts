import { chmodSync, lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";

/** Permission bits for anyone but the owner. */
const GROUP_AND_OTHERS = 0o077;

/**
 * Keeps a directory's contents to its owner: from now on this process creates files and
 * directories without group or other permissions (its umask gains 077), and what the directory
 * already holds loses them (PGlite writes its data files 0666 whatever the umask).
 */
export function keepPrivate(dir: string): void {
  const previous = process.umask(GROUP_AND_OTHERS);
  process.umask(previous | GROUP_AND_OTHERS);
  removeGroupAndOtherAccess(dir);
}

/** Clears the group and other permission bits of `dir` and everything under it (links are left alone). */
export function removeGroupAndOtherAccess(dir: string): void {
  restrict(dir);
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isSymbolicLink()) restrict(join(entry.parentPath, entry.name));
  }
}

function restrict(path: string): void {
  const { mode } = lstatSync(path);
  if ((mode & GROUP_AND_OTHERS) !== 0) chmodSync(path, mode & 0o7700);
}
