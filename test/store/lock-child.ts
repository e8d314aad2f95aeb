/**
 * Run by data-dir-lock.test.ts in a child process: `node lock-child.ts <mode> <dataDir>`.
 * Opens the embedded store on dataDir and prints one JSON line per step to stdout:
 * - "read": the ids of the stored events (then closes), or the error that opening raised;
 * - "hold": stores an event, prints its ids, then keeps the store open until stdin ends.
 */
import { openDatabase } from "../../src/store/sql/open-store.ts";
import { ALL_TENANTS } from "../../src/store/tenant-scope.ts";
import { eventRecord } from "../support/records.ts";

const [mode, dataDir] = process.argv.slice(2);
const report = (value: object) => process.stdout.write(`${JSON.stringify(value)}\n`);

try {
  const store = await openDatabase({ kind: "embedded", dataDir }, { info: () => {}, error: () => {} });
  if (mode === "hold") {
    await store.insertEvents(ALL_TENANTS, [eventRecord({ tenantId: "lock", eventId: `from-${process.pid}` })]);
  }
  const rows = await store.queryEvents(ALL_TENANTS, { filter: { tenantId: "lock" }, ascending: true, limit: 100 });
  report({ pid: process.pid, eventIds: rows.map((r) => r.eventId) });
  if (mode === "hold") {
    process.stdin.resume();
    await new Promise((resolve) => process.stdin.once("end", resolve));
  }
  await store.close();
} catch (err) {
  report({ pid: process.pid, name: (err as Error).name, message: (err as Error).message });
}
