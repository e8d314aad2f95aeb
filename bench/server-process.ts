import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/** What `npm start` runs: the server built by `npm run build` (`npm run bench` builds first). */
const MAIN = join(import.meta.dirname, "..", "dist", "src", "main.js");
/** Linux's USER_HZ: /proc reports CPU time in these ticks. */
const TICKS_PER_SECOND = 100;

export interface ServerStart {
  /** PostgreSQL connection string, or undefined for the embedded store in `dataDir`. */
  databaseUrl?: string;
  dataDir?: string;
  /** Where the server's stdout and stderr go (its JSON log lines). */
  logFile: string;
  logLevel: string;
  /** Extra Node.js flags for the server process, e.g. `--cpu-prof --cpu-prof-dir=DIR`. */
  nodeFlags?: string[];
  /** Extra server flags, e.g. `--disable-audit-trail`. */
  serverFlags?: string[];
  /** Check API keys (the first admin key is written to `<data dir>/admin-key`); default: without keys. */
  keys?: boolean;
}

/**
 * `npm start` (package.json): its environment assignments (before `node`) and its Node.js flags,
 * so the bench measures the server as it is run.
 */
const START = (() => {
  const pkg = JSON.parse(readFileSync(join(import.meta.dirname, "..", "package.json"), "utf8"));
  const words: string[] = pkg.scripts.start.split(/\s+/);
  const node = words.indexOf("node");
  return {
    env: Object.fromEntries(words.slice(0, node).map((word) => word.split("=", 2))),
    nodeFlags: words.slice(node + 1, words.indexOf("dist/src/main.js")),
  };
})();

/**
 * The server as `npm start` runs it, in its own process (`node dist/src/main.js`), on a free loopback
 * port, without keys unless asked (--insecure-no-auth, allowed on 127.0.0.1) and without the per-key rate limit.
 * Its logs go to a file, so reading them costs the bench nothing while it measures.
 */
export class ServerProcess {
  readonly baseUrl: string;
  readonly pid: number;
  readonly #child: ChildProcess;
  readonly #exited: Promise<number | null>;

  private constructor(child: ChildProcess, baseUrl: string, exited: Promise<number | null>) {
    this.#child = child;
    this.baseUrl = baseUrl;
    this.pid = child.pid ?? 0;
    this.#exited = exited;
  }

  static async start(options: ServerStart): Promise<ServerProcess> {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` (\`npm run bench\` does)`);
    const args = [
      ...START.nodeFlags,
      ...(options.nodeFlags ?? []),
      MAIN,
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      ...(options.keys ? [] : ["--insecure-no-auth"]),
      "--rate-limit",
      "0",
    ];
    args.push("--log-level", options.logLevel, ...(options.serverFlags ?? []));
    if (options.databaseUrl) args.push("--database-url", options.databaseUrl);
    else if (options.dataDir) args.push("--data-dir", options.dataDir);
    const out = openSync(options.logFile, "w");
    const child = spawn(process.execPath, args, {
      // An empty DATABASE_URL counts as unset: the embedded store unless --database-url is given.
      env: { ...process.env, ...START.env, DATABASE_URL: "" },
      stdio: ["ignore", out, out],
    });
    closeSync(out);
    let exitCode: number | null | undefined;
    const exited = new Promise<number | null>((resolve) =>
      child.once("exit", (code) => {
        exitCode = code;
        resolve(code);
      }),
    );
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      const log = readFileSync(options.logFile, "utf8");
      // Fastify logs the address it listens on (at info, so the log level is at most info).
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(log);
      if (match) return new ServerProcess(child, match[1], exited);
      if (exitCode !== undefined) throw new Error(`the server exited with ${exitCode} before listening:\n${log}`);
      await sleep(50);
    }
    child.kill("SIGKILL");
    throw new Error(`the server did not listen within 120 s; its log is ${options.logFile}`);
  }

  /** Resident memory now and its peak since the process started (VmRSS, VmHWM), in bytes. */
  memory(): { rssBytes: number; peakRssBytes: number } {
    const status = readFileSync(`/proc/${this.pid}/status`, "utf8");
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1024;
    return { rssBytes: kb("VmRSS"), peakRssBytes: kb("VmHWM") };
  }

  /** CPU seconds (user + system) the process has used so far. */
  cpuSeconds(): number {
    return processCpuSeconds(this.pid);
  }

  /** Stops it as an operator would (SIGTERM: in-flight requests finish), SIGKILL after 20 s. */
  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    this.#child.kill("SIGTERM");
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), 20_000);
    await this.#exited;
    clearTimeout(timer);
  }
}

/** CPU seconds (user + system) of any process, 0 when it is gone. */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may contain spaces) start at field 3; utime and stime are 14, 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** Samples a server's memory while a run goes on; `stop` returns the peak seen (VmHWM included). */
export function sampleMemory(server: ServerProcess, everyMs = 100): { stop: () => number } {
  let peak = 0;
  const sample = () => {
    try {
      const m = server.memory();
      peak = Math.max(peak, m.rssBytes, m.peakRssBytes);
    } catch {
      // the process is gone; keep what was seen
    }
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}

/** CPU seconds every core of the machine spent busy (not idle, not waiting for I/O) so far. */
export function machineBusySeconds(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0];
  const [user, nice, system, _idle, _iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return (user + nice + system + irq + softirq + (steal ?? 0)) / TICKS_PER_SECOND;
}

/**
 * CPU accounting for one measured run: what the server, the bench itself and the database used,
 * and what everything else on the machine used meanwhile (other work skews the figures).
 */
export class CpuMeter {
  readonly #busy0 = machineBusySeconds();
  readonly #self0 = process.cpuUsage();

  /** `server` and `postgres` are the CPU seconds those used during the run, measured by the caller. */
  finish(server: number, postgres: number): { benchCpuSeconds: number; otherCpuSeconds: number } {
    const busy = machineBusySeconds() - this.#busy0;
    const self = process.cpuUsage(this.#self0);
    const bench = (self.user + self.system) / 1e6;
    return {
      benchCpuSeconds: Math.round(bench * 100) / 100,
      otherCpuSeconds: Math.max(0, Math.round((busy - bench - server - postgres) * 100) / 100),
    };
  }
}
