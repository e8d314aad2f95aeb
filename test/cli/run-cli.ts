import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

export const CLI = new URL("../../src/cli/main.ts", import.meta.url).pathname;
const HOLDER = new URL("./hold-data-dir.ts", import.meta.url).pathname;

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real CLI (`node src/cli/main.ts ...args`) as a child process and collects its output.
 * DATABASE_URL and CHAUKAS_DATA_DIR are cleared unless `env` sets them, so a test picks its store;
 * `cwd` is where the default data directory, `./data`, would be.
 */
export function runCli(args: string[], env: Record<string, string> = {}, cwd?: string): Promise<CliResult> {
  return runScript(CLI, args, env, cwd);
}

/** Runs `node SCRIPT ...args` to its end, as runCli runs the CLI, and collects its output. */
export async function runScript(
  script: string,
  args: string[],
  env: Record<string, string> = {},
  cwd?: string,
): Promise<CliResult> {
  const child = spawn(process.execPath, [script, ...args], {
    cwd,
    env: { ...process.env, DATABASE_URL: "", CHAUKAS_DATA_DIR: "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const [code] = (await once(child, "close")) as [number | null];
  return { code, stdout, stderr };
}

/** A fresh temporary directory; `remove` deletes it. */
export function tempDir(): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), "chaukas-cli-"));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Another process holding the embedded store in `dataDir` open, until `release` is called. */
export async function holdDataDir(dataDir: string): Promise<{ pid: number; release: () => Promise<void> }> {
  const child: ChildProcess = spawn(process.execPath, [HOLDER, dataDir], { stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const [first] = (await once(lines, "line")) as [string];
  if (first !== "ready") throw new Error(`holder did not start: ${first}`);
  return {
    pid: child.pid as number,
    release: async () => {
      const closed = once(child, "close");
      child.stdin?.end();
      await closed;
    },
  };
}
