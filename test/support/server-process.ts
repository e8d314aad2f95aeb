import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";

/** What `npm start` runs: the server as `npm run build` emits it (test/support/build.ts builds it first). */
export const MAIN = join(import.meta.dirname, "..", "..", "dist", "src", "main.js");

export interface ServerProcess {
  child: ChildProcess;
  baseUrl: string;
  /** Everything it printed so far, stdout and stderr. */
  output: () => string;
}

/**
 * Starts `node dist/src/main.js` (what `npm start` runs) on a free port and waits for its listening
 * line. DATABASE_URL is cleared unless `env` sets it, so a test picks its store.
 */
export function startServerProcess(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, [MAIN, "--port", "0", ...args], {
    env: { ...process.env, DATABASE_URL: "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  started.add(child);
  child.once("exit", () => started.delete(child));
  let output = "";
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk;
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) resolve({ child, baseUrl: match[1], output: () => output });
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", (code) => reject(new Error(`exited with ${code} before listening:\n${output}`)));
  });
}

const started = new Set<ChildProcess>();

/** Kills every server this file started that still runs: for afterAll, so a failed test leaves none behind. */
export function killServerProcesses(): void {
  for (const child of started) child.kill("SIGKILL");
}

export function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}
