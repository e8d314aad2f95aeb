// Writes dist/src/store/sql/pglite-template/: a data directory fresh from PGlite's initdb, shut
// down cleanly, which the built server copies into an empty data directory instead of running
// initdb itself (src/store/sql/pglite-options.ts). `npm run build` runs it, after tsc.
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { TEMPLATE_DIR } from "../src/store/sql/pglite-options.ts";

const out = join(import.meta.dirname, "..", "dist", "src", "store", "sql", TEMPLATE_DIR);
const db = await PGlite.create(out);
await db.close();
console.log(`pglite template: ${out}`);
