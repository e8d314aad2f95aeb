import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";

/** This server's version: package.json's, found above this file (src/ when run as TypeScript, dist/src/ when built). */
export function packageVersion(): string {
  for (let dir = import.meta.dirname; ; dir = dirname(dir)) {
    const file = join(dir, "package.json");
    if (existsSync(file)) return JSON.parse(readFileSync(file, "utf8")).version;
    if (dirname(dir) === dir) return "unknown";
  }
}
