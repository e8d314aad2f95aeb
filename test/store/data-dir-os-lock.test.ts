import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/store/database.ts";
import { openDatabase } from "../../src/store/sql/open-store.ts";
import { ALL_TENANTS } from "../../src/store/tenant-scope.ts";

/**
 * The data-directory lock is an OS lock the kernel drops when its holder dies: a holder killed a
 * moment ago but still listed as a process (not yet reaped), or a lock file naming some unrelated
 * live process, does not keep the directory closed.
 */

const CHILD = fileURLToPath(new URL("./lock-child.ts", import.meta.url));
const quietLog = { info: () => {}, error: () => {} };
const root = mkdtempSync(join(tmpdir(), "chaukas-os-lock-"));
const template = join(root, "template");
let dirs = 0;
const processes: ChildProcess[] = [];
const stores: Database[] = [];

function freshDir(): string {
  const dir = join(root, `data-${++dirs}`);
  cpSync(template, dir, { recursive: true });
  return dir;
}

async function open(dataDir: string): Promise<Database> {
  const store = await openDatabase({ kind: "embedded", dataDir }, quietLog);
  stores.push(store);
  return store;
}

// Each test starts Node processes that load PGlite: slow on a shared machine.
describe("embedded data-directory OS lock", { timeout: 120_000 }, () => {
  beforeAll(async () => {
    await (await openDatabase({ kind: "embedded", dataDir: template }, quietLog)).close();
  });
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    for (const child of processes.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGKILL");
        await once(child, "exit");
      }
    }
  });
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it("opens right after its holder is killed, though the dead holder is still listed", async () => {
    const dataDir = freshDir();
    // The holder runs under a parent that never reaps it (sleep), so once killed it stays listed
    // (a zombie) until that parent ends, as a killed process can for a while under a supervisor.
    const shell = spawn(
      "sh",
      ["-c", `exec 3<&0; "${process.execPath}" "${CHILD}" hold "${dataDir}" <&3 & exec sleep 600`],
      { stdio: ["pipe", "pipe", "inherit"] },
    );
    processes.push(shell);
    const [line] = (await once(createInterface({ input: shell.stdout }), "line")) as [string];
    const holder = JSON.parse(line) as { pid: number; eventIds: string[] };
    expect(holder.eventIds).toEqual([`from-${holder.pid}`]);
    await expect(open(dataDir)).rejects.toThrow(`in use by process ${holder.pid}`);

    process.kill(holder.pid, "SIGKILL");
    const store = await open(dataDir);
    const rows = await store.queryEvents(ALL_TENANTS, { filter: { tenantId: "lock" }, ascending: true, limit: 10 });
    expect(rows.map((r) => r.eventId)).toEqual([`from-${holder.pid}`]);
    // The dead holder is still listed (unreaped), which a pid check would take for alive.
    expect(() => process.kill(holder.pid, 0)).not.toThrow();
  });

  it("opens when the lock file names an unrelated live process", async () => {
    const dataDir = freshDir();
    const unrelated = spawn("sleep", ["600"], { stdio: "ignore" });
    processes.push(unrelated);
    await once(unrelated, "spawn");
    writeFileSync(join(dataDir, "chaukas.lock"), String(unrelated.pid));

    await open(dataDir);
    expect(readFileSync(join(dataDir, "chaukas.lock"), "utf8")).toBe(String(process.pid));
  });
});
