/**
 * Preloaded into a server process (`node --import`): records every package the process imports,
 * statically or not, and writes their names as a JSON array to RECORD_IMPORTS_FILE when it exits.
 */
import { writeFileSync } from "node:fs";
import { registerHooks } from "node:module";

const packages = new Set<string>();
registerHooks({
  resolve(specifier, context, nextResolve) {
    if (!/^(\.|\/|node:|file:|data:)/.test(specifier)) packages.add(specifier);
    return nextResolve(specifier, context);
  },
});
process.on("exit", () => writeFileSync(String(process.env.RECORD_IMPORTS_FILE), JSON.stringify([...packages])));
