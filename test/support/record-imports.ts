/**
 * Preloaded into a server process (`node --import`): records every bare specifier the process
 * imports or requires, statically or not (package names and their subpaths, and builtins required
 * without `node:`), and writes them as a JSON array to RECORD_IMPORTS_FILE when it exits.
 */
import { writeFileSync } from "node:fs";
import { registerHooks } from "node:module";

const file = process.env.RECORD_IMPORTS_FILE;
if (!file) throw new Error("record-imports.ts: set RECORD_IMPORTS_FILE to the file to write");
const packages = new Set<string>();
registerHooks({
  resolve(specifier, context, nextResolve) {
    if (!/^(\.|\/|node:|file:|data:)/.test(specifier)) packages.add(specifier);
    return nextResolve(specifier, context);
  },
});
process.on("exit", () => writeFileSync(file, JSON.stringify([...packages])));
