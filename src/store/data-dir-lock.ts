import { closeSync, mkdirSync, openSync, readFileSync, realpathSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";

/** The embedded database is single-process: a second process must fail clearly, not corrupt it. */
export class DataDirLockedError extends Error {
  constructor(dataDir: string, pid: number) {
    super(
      `the data directory ${dataDir} is in use by process ${pid}; the embedded database allows one ` +
        "process at a time (stop that process, or set DATABASE_URL to share a PostgreSQL server)",
    );
    this.name = "DataDirLockedError";
  }
}

/**
 * The lock files this process holds. A lock file with this process's own pid that is not in here is
 * stale (a restarted container often gets the same pid), but one in here means the directory is
 * already open in this process: a second PGlite on it would corrupt it.
 */
const held = new Set<string>();

/**
 * Takes an exclusive lock file holding this process's pid. A lock left by a process that no
 * longer exists is taken over. Returns the function that releases it.
 */
export function lockDataDir(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true });
  const path = join(realpathSync(dataDir), "chaukas.lock");
  if (held.has(path)) throw new DataDirLockedError(dataDir, process.pid);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, "wx", 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      held.add(path);
      return () => {
        held.delete(path);
        rmSync(path, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const holder = Number.parseInt(readFileSync(path, "utf8"), 10);
      if (Number.isInteger(holder) && holder !== process.pid && isAlive(holder)) {
        throw new DataDirLockedError(dataDir, holder);
      }
      // Stale: its process is gone. Remove it and race for it once more; "wx" picks one winner.
      rmSync(path, { force: true });
    }
  }
  throw new Error(`could not lock the data directory ${dataDir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
