import { readFileSync } from "node:fs";

/** Linux's USER_HZ: /proc reports CPU time in these ticks. */
const TICKS_PER_SECOND = 100;

/** A process's resident memory now and its peak since it started (VmRSS, VmHWM), in bytes. */
export function processMemory(pid: number): { rssBytes: number; peakRssBytes: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1024;
  return { rssBytes: kb("VmRSS"), peakRssBytes: kb("VmHWM") };
}

/** CPU seconds (user + system) of any process, 0 when it is gone. */
export function processCpuSeconds(pid: number): number {
  const fields = statFields(pid);
  return fields ? (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND : 0;
}

/**
 * Minor page faults of a process so far (first touches of memory it mapped), 0 when it is gone:
 * each costs the kernel, and on a virtual machine the host too (ADR 0033).
 */
export function processMinorFaults(pid: number): number {
  const fields = statFields(pid);
  return fields ? Number(fields[7]) : 0;
}

/** /proc/PID/stat's fields from the third on (after the command name, which may contain spaces); minflt is 10, utime and stime 14, 15. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** Samples a process's memory while a run goes on; `stop` returns the peak seen (VmHWM included). */
export function sampleMemory(pid: number, everyMs = 100): { stop: () => number } {
  let peak = 0;
  const sample = () => {
    try {
      const m = processMemory(pid);
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

/** Garbage collections of one kind: how many, and their time in all. */
export interface Collections {
  count: number;
  ms: number;
}

/** The kinds of garbage collection prom-client names, in the order reports give them. */
const COLLECTION_KINDS = ["minor", "major", "incremental", "weakcb"];

/**
 * A server's garbage collections so far by kind, from its `GET /metrics`: prom-client's
 * nodejs_gc_duration_seconds (minor: scavenges; major: full collections; incremental: the marking
 * steps before a full one). prom-client observes the first collection of each batch Node.js
 * reports, so the counts are lower bounds. A kind not seen yet is absent.
 */
export async function serverCollections(baseUrl: string): Promise<Record<string, Collections>> {
  const text = await serverMetrics(baseUrl);
  const byKind: Record<string, Collections> = {};
  for (const [, part, kind, value] of text.matchAll(
    /^nodejs_gc_duration_seconds_(count|sum)\{kind="(\w+)"\} (\S+)$/gm,
  )) {
    byKind[kind] ??= { count: 0, ms: 0 };
    if (part === "count") byKind[kind].count = Number(value);
    else byKind[kind].ms = Number(value) * 1000;
  }
  return byKind;
}

/** How many of each store operation (`readTail`, `insertEvents`...) a server has run so far, from one `GET /metrics`. */
export async function serverStoreOperations<Op extends string>(
  baseUrl: string,
  ops: readonly Op[],
): Promise<Record<Op, number>> {
  const family = "chaukas_db_statement_duration_seconds";
  const lines = (await serverMetrics(baseUrl)).split("\n");
  if (!lines.includes(`# TYPE ${family} histogram`)) throw new Error(`GET /metrics has no ${family}`);
  const counts = {} as Record<Op, number>;
  for (const op of ops) {
    const prefix = `${family}_count{op="${op}"} `;
    const line = lines.find((l) => l.startsWith(prefix));
    // No line: the server has not run the operation yet.
    counts[op] = line ? Number(line.slice(prefix.length)) : 0;
  }
  return counts;
}

async function serverMetrics(baseUrl: string): Promise<string> {
  const response = await fetch(`${baseUrl}/metrics`);
  if (!response.ok) throw new Error(`GET /metrics answered ${response.status}: the bench reads figures there`);
  return response.text();
}

/** What `after` adds to `before`, kind by kind, the times rounded to 0.1 ms. */
export function collectionsBetween(
  before: Record<string, Collections>,
  after: Record<string, Collections>,
): Record<string, Collections> {
  const added: Record<string, Collections> = {};
  for (const [kind, { count, ms }] of Object.entries(after)) {
    const earlier = before[kind] ?? { count: 0, ms: 0 };
    added[kind] = { count: count - earlier.count, ms: Math.round((ms - earlier.ms) * 10) / 10 };
  }
  return added;
}

/** The kinds in COLLECTION_KINDS' order; one prom-client adds later goes last. */
export function collectionsInOrder(collections: Record<string, Collections>): [string, Collections][] {
  const rank = (kind: string) => {
    const at = COLLECTION_KINDS.indexOf(kind);
    return at === -1 ? COLLECTION_KINDS.length : at;
  };
  return Object.entries(collections).sort(([a], [b]) => rank(a) - rank(b));
}
