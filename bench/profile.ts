/**
 * Summarises a V8 CPU profile (`node --cpu-prof`): self time by function and by package, and the
 * total (inclusive) time of the project's own functions. Usage:
 *
 *   npm run bench -- --only ingest --server-node-flags="--cpu-prof --cpu-prof-dir=/tmp/prof"
 *   node bench/profile.ts /tmp/prof/CPU.*.cpuprofile [--top 30] [--callers writeBuffer]
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Where a frame's code lives: a package name, "src/...", "gen", "node:internal", or "(v8)". */
function place(url: string): string {
  if (!url) return "(v8 / native)";
  if (url.startsWith("node:")) return "node: internals";
  const pkg = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  const own = /\/(src|gen|bench)\/(.*)$/.exec(url);
  if (own) return `${own[1]}/${own[2]}`;
  return url;
}

function summarise(file: string, top: number, callersOf?: string): void {
  const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Self time per node from the samples and their time deltas (microseconds).
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const totalUs = profile.endTime - profile.startTime;
  let idleUs = 0;
  const selfByFunction = new Map<string, number>();
  const selfByPlace = new Map<string, number>();
  const inclusiveOwn = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === "(idle)") {
      idleUs += us;
      continue;
    }
    const where = place(url);
    const key = `${functionName || "(anonymous)"}  ${where}:${lineNumber + 1}`;
    selfByFunction.set(key, (selfByFunction.get(key) ?? 0) + us);
    selfByPlace.set(where, (selfByPlace.get(where) ?? 0) + us);
    // Inclusive time of the project's own functions: each sample counts once per distinct frame.
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)?.callFrame;
      if (!frame || !/\/(src|gen)\//.test(frame.url)) continue;
      const own = `${frame.functionName || "(anonymous)"}  ${place(frame.url)}:${frame.lineNumber + 1}`;
      if (seen.has(own)) continue;
      seen.add(own);
      inclusiveOwn.set(own, (inclusiveOwn.get(own) ?? 0) + us);
    }
  }
  const busyUs = totalUs - idleUs;
  const pct = (us: number) => `${((100 * us) / busyUs).toFixed(1).padStart(5)}%`;
  const print = (title: string, entries: Map<string, number>, n: number) => {
    console.log(`\n${title}`);
    for (const [k, us] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, n)) {
      console.log(`  ${pct(us)}  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`);
    }
  };
  console.log(
    `${file}: ${(totalUs / 1e6).toFixed(1)} s profiled, ${(busyUs / 1e6).toFixed(1)} s busy (percentages are of busy time)`,
  );
  print("self time by package / file", selfByPlace, top);
  print("self time by function", selfByFunction, top);
  print("total time of the project's own functions (src/, gen/)", inclusiveOwn, top);
  if (callersOf) {
    // Where the named function is called from: its samples grouped by the nearest frames above it.
    const stacks = new Map<string, number>();
    for (const [id, us] of selfUs) {
      const node = byId.get(id);
      if (node?.callFrame.functionName !== callersOf) continue;
      const frames: string[] = [];
      for (let at = parent.get(id); at !== undefined && frames.length < 8; at = parent.get(at)) {
        const f = byId.get(at)?.callFrame;
        if (f && f.functionName !== "(root)")
          frames.push(`${f.functionName || "(anonymous)"} ${place(f.url)}:${f.lineNumber + 1}`);
      }
      const key = frames.join("\n        < ");
      stacks.set(key, (stacks.get(key) ?? 0) + us);
    }
    print(`callers of ${callersOf}`, stacks, 8);
  }
}

const { values, positionals } = parseArgs({
  options: { top: { type: "string" }, callers: { type: "string" } },
  allowPositionals: true,
});
for (const file of positionals) summarise(file, Number(values.top ?? 25), values.callers);
