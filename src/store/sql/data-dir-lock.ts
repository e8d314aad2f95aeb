import {
  closeSync,
  constants,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { setTimeout } from "node:timers/promises";
import { isExiting } from "./process-exit.ts";

/** The embedded database is single-process: a second process must fail clearly, not corrupt it. */
export class DataDirLockedError extends Error {
  constructor(dataDir: string, pid: number | undefined) {
    super(
      `the data directory ${dataDir} is in use by ${pid ? `process ${pid}` : "another process"}; the embedded ` +
        "database allows one process at a time (stop that process, or set DATABASE_URL to share a PostgreSQL server)",
    );
    this.name = "DataDirLockedError";
  }
}

/** How long a start waits for a holder that is exiting to let go (a killed process frees its memory first). */
const EXITING_HOLDER_WAIT_MS = 30_000;
const RETRY_MS = 50;

/**
 * Takes an exclusive lock on the data directory: an OS lock (flock) on `chaukas.lock`, held through
 * an open file for as long as the directory is open. The kernel releases it when its holder dies,
 * however it dies, so a crashed holder never blocks a restart, and the pid in the file (written
 * to name the holder in the error) is never taken for the lock. A holder that is exiting (killed a
 * moment ago) is waited for. Resolves with the function that releases the lock.
 */
export async function lockDataDir(dataDir: string): Promise<() => void> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(realpathSync(dataDir), "chaukas.lock");
  const deadline = Date.now() + EXITING_HOLDER_WAIT_MS;
  // Loaded here, not at the top: a native module that only the embedded store needs must not stop
  // a PostgreSQL server or the CLI from starting where it has no build.
  const { flockSync } = await import("fs-ext-extra-prebuilt");
  for (;;) {
    const fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o600);
    if (!tryLock(fd, flockSync)) {
      closeSync(fd);
      const holder = holderOf(path);
      if (holder === undefined || !isExiting(holder) || Date.now() > deadline) {
        throw new DataDirLockedError(dataDir, holder);
      }
      await setTimeout(RETRY_MS);
      continue;
    }
    // A holder removes the file as it releases: a lock taken on a file no longer at `path` is
    // worth nothing, so take the one there now.
    if (!isFileAt(fd, path)) {
      closeSync(fd);
      continue;
    }
    ftruncateSync(fd, 0);
    writeSync(fd, String(process.pid), 0);
    return () => {
      rmSync(path, { force: true });
      closeSync(fd);
    };
  }
}

/** Takes the lock without waiting; false when another open file holds it. */
function tryLock(fd: number, flockSync: (fd: number, flags: "exnb") => void): boolean {
  try {
    flockSync(fd, "exnb");
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EAGAIN" || code === "EWOULDBLOCK") return false;
    closeSync(fd);
    throw err;
  }
}

function holderOf(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, "utf8"), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isFileAt(fd: number, path: string): boolean {
  try {
    const [there, held] = [statSync(path), fstatSync(fd)];
    return there.dev === held.dev && there.ino === held.ino;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
}
