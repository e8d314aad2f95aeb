import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/** What `npm start` runs: the server as `npm run build` emits it (the tests and `npm run bench` build it first). */
export const MAIN = join(import.meta.dirname, "..", "dist", "src", "main.js");

/** `npm start` (package.json): its environment assignments (before `node`), its Node.js flags and its script. */
export const NPM_START = (() => {
  const pkg = JSON.parse(readFileSync(join(import.meta.dirname, "..", "package.json"), "utf8"));
  const words: string[] = pkg.scripts.start.split(/\s+/);
  const node = words.indexOf("node");
  const script = "dist/src/main.js";
  const main = words.indexOf(script);
  if (node < 0 || main < node) throw new Error(`npm start is not "[VAR=value ...] node [flags] ${script}"`);
  return {
    env: Object.fromEntries(words.slice(0, node).map((word) => word.split("=", 2))),
    nodeFlags: words.slice(node + 1, main),
    script,
  };
})();

const LISTENING = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/;
const START_TIMEOUT_MS = 120_000;

export interface ServerProcessOptions {
  /** Added to this process's environment; DATABASE_URL is cleared unless set here, so the caller picks the store. */
  env?: NodeJS.ProcessEnv;
  /** Node.js flags besides npm start's, e.g. `--cpu-prof`. */
  nodeFlags?: string[];
  /** Where its stdout and stderr go: this file, which costs a measurement nothing; default: kept in memory. */
  logFile?: string;
  /** Another script that prints the same listening line (the bench's stack-server.ts and http2-server.ts); default: MAIN. */
  main?: string;
}

/** A server process as `npm start` runs it, listening on a free loopback port. */
export class ServerProcess {
  readonly child: ChildProcess;
  readonly baseUrl: string;
  /** Everything it printed so far, stdout and stderr. */
  readonly output: () => string;

  constructor(child: ChildProcess, baseUrl: string, output: () => string) {
    this.child = child;
    this.baseUrl = baseUrl;
    this.output = output;
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** Stops it as an operator would (SIGTERM: in-flight requests finish), SIGKILL after 20 s. */
  async stop(): Promise<void> {
    const exited = exitOf(this.child);
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 20_000);
    await exited;
    clearTimeout(timer);
  }
}

/**
 * Starts `node dist/src/main.js --port 0 ARGS` (or options.main) with npm start's environment and Node.js flags,
 * and waits (at most 120 s) for its listening line.
 */
export async function startServerProcess(args: string[], options: ServerProcessOptions = {}): Promise<ServerProcess> {
  const main = options.main ?? MAIN;
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\``);
  const out = options.logFile === undefined ? "pipe" : openSync(options.logFile, "w");
  const child = spawn(
    process.execPath,
    [...NPM_START.nodeFlags, ...(options.nodeFlags ?? []), main, "--port", "0", ...args],
    { env: { ...process.env, ...NPM_START.env, DATABASE_URL: "", ...options.env }, stdio: ["ignore", out, out] },
  );
  let output: () => string;
  if (typeof out === "number") {
    closeSync(out);
    const file = options.logFile as string;
    output = () => readFileSync(file, "utf8");
  } else {
    let text = "";
    const append = (chunk: Buffer) => {
      text += chunk;
    };
    child.stdout?.on("data", append);
    child.stderr?.on("data", append);
    output = () => text;
  }
  started.add(child);
  child.once("exit", () => started.delete(child));
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const match = LISTENING.exec(output());
    if (match) return new ServerProcess(child, match[1], output);
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`exited with ${child.exitCode ?? child.signalCode} before listening:\n${output()}`);
    }
    await sleep(20);
  }
  child.kill("SIGKILL");
  throw new Error(`the server did not listen within ${START_TIMEOUT_MS / 1000} s:\n${output()}`);
}

const started = new Set<ChildProcess>();

/** Kills every server this process started that still runs: so a failed test or an interrupted bench leaves none behind. */
export function killServerProcesses(): void {
  for (const child of started) child.kill("SIGKILL");
}

export function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}
