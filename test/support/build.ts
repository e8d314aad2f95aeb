import { execFileSync } from "node:child_process";
import { join } from "node:path";

/**
 * Vitest's global setup: builds the server once (`npm run build`) before any test file runs, so
 * the tests that start it as a process run what `npm start` runs, built from the sources under test.
 */
export default function build(): void {
  execFileSync("npm", ["run", "--silent", "build"], { cwd: join(import.meta.dirname, "..", ".."), stdio: "inherit" });
}
