import { readFileSync, writeSync } from "node:fs";

/**
 * Loaded with `node --import` into a process under test: on exit, writes the process's peak
 * resident set size (VmHWM, the kernel's high-water mark) to stderr as `peak-rss-kib <n>`.
 */
process.on("exit", () => {
  const peak = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
  writeSync(2, `\npeak-rss-kib ${peak}\n`);
});
