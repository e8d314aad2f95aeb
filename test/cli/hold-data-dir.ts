/**
 * Run by import-export.test.ts as a separate process: `node hold-data-dir.ts DIR` opens the
 * embedded store in DIR, prints "ready" (or the error), and keeps it open until stdin ends.
 */
import { openDatabase } from "../../src/store/sql/open-store.ts";

const quiet = { info: () => {}, error: () => {} };
try {
  const store = await openDatabase({ kind: "embedded", dataDir: process.argv[2] }, quiet);
  process.stdout.write("ready\n");
  process.stdin.resume();
  await new Promise((resolve) => process.stdin.once("end", resolve));
  await store.close();
} catch (err) {
  process.stdout.write(`${(err as Error).message}\n`);
}
