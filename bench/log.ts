import { thousands } from "./stats.ts";

const started = performance.now();

/** One progress line on stderr, stamped with the seconds since the bench started. */
export function log(line: string): void {
  process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}\n`);
}

/** The seconds since the bench started. */
export function elapsedSeconds(): number {
  return (performance.now() - started) / 1000;
}

/** Logs `label: done / total` at most every two seconds. */
export function progress(label: string, total: number): (done: number) => void {
  let last = performance.now();
  return (done) => {
    if (performance.now() - last < 2000) return;
    last = performance.now();
    log(`${label}: ${thousands(done)} / ${thousands(total)}`);
  };
}
