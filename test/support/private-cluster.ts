import { execFile } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The bin directory of the newest installed Debian PostgreSQL, if any. */
function debianBinDir(): string | undefined {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((version) => existsSync(join(root, version, "bin", "pg_ctl")))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length > 0 ? join(root, versions[0], "bin") : undefined;
}

const POSTGRES_BIN_DIR = debianBinDir();

/**
 * Whether tests can build private clusters. Under CI they must: missing binaries fail the run
 * instead of skipping the outage tests.
 */
export function privateClustersAvailable(): boolean {
  if (POSTGRES_BIN_DIR) return true;
  if (process.env.CI) throw new Error("no PostgreSQL binaries under /usr/lib/postgresql, and CI requires them");
  console.warn("no PostgreSQL binaries under /usr/lib/postgresql: skipping the tests that need a cluster of their own");
  return false;
}

/**
 * A PostgreSQL cluster of its own, on a free loopback port, that a test may stop, restart and
 * freeze without touching the machine's cluster. Trust authentication, user postgres.
 */
export interface PrivateCluster {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  url: string;
  port: number;
  /** A fast shutdown: open sessions are ended (57P01), new connections refused. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Every process of the cluster stopped (SIGSTOP): connections are accepted and nothing answers. */
  freeze(): void;
  thaw(): void;
  /** Thaws, stops and deletes it. */
  destroy(): Promise<void>;
}

/** initdb + pg_ctl start in a new temporary directory, as user postgres when this process is root. */
export async function startPrivateCluster(): Promise<PrivateCluster> {
  const dir = await ownedTempDir();
  const data = join(dir, "data");
  await asOwner("initdb", ["-D", data, "-U", "postgres", "-A", "trust", "--no-sync"]);
  return runCluster(dir, data);
}

/**
 * A hot-standby streaming replica of `primary` (pg_basebackup -R), on a port of its own. Its
 * replay can be paused with `SELECT pg_wal_replay_pause()` to hold it behind the primary.
 */
export async function startPrivateReplica(primary: PrivateCluster): Promise<PrivateCluster> {
  const dir = await ownedTempDir();
  const data = join(dir, "data");
  const from = ["-h", "127.0.0.1", "-p", String(primary.port), "-U", "postgres"];
  await asOwner("pg_basebackup", ["-D", data, "-R", "-X", "stream", "-c", "fast", "--no-sync", ...from]);
  return runCluster(dir, data);
}

/** The PostgreSQL binary `command`, run as user postgres when this process is root: PostgreSQL refuses root. */
function asOwner(command: string, args: string[]) {
  const bin = POSTGRES_BIN_DIR;
  if (!bin) throw new Error("no PostgreSQL binaries under /usr/lib/postgresql");
  const path = join(bin, command);
  return process.getuid?.() === 0 ? run("runuser", ["-u", "postgres", "--", path, ...args]) : run(path, args);
}

/** A new temporary directory, owned by user postgres when this process is root. */
async function ownedTempDir(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "chaukas-cluster-"));
  if (process.getuid?.() === 0) {
    const { stdout } = await run("id", ["-u", "postgres"]);
    chownSync(dir, Number(stdout.trim()), -1);
  }
  return dir;
}

/** Starts the cluster in `data` on a free port, with its socket and log in `dir`. */
async function runCluster(dir: string, data: string): Promise<PrivateCluster> {
  const port = await freePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
  const start = () => asOwner("pg_ctl", ["-D", data, "-o", options, "-l", join(dir, "log"), "-w", "start"]);
  const stop = (mode: string) => asOwner("pg_ctl", ["-D", data, "-m", mode, "-w", "stop"]);
  await start();

  let frozen: number[] = [];
  const thaw = () => {
    for (const pid of frozen) process.kill(pid, "SIGCONT");
    frozen = [];
  };
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    stop: async () => void (await stop("fast")),
    start: async () => void (await start()),
    freeze() {
      const postmaster = Number(readFileSync(join(data, "postmaster.pid"), "utf8").split("\n")[0]);
      // The postmaster first, so it starts no process that would escape.
      frozen = [postmaster, ...childrenOf(postmaster)];
      for (const pid of frozen) process.kill(pid, "SIGSTOP");
    },
    thaw,
    async destroy() {
      thaw();
      await stop("immediate").catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The processes whose parent is `pid`, from /proc. */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ")".
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {
      // The process ended while the list was read.
    }
  }
  return children;
}

/** A loopback port free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
