import { type ChildProcessByStdio, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/store/database.ts";
import { DataDirLockedError } from "../../src/store/sql/data-dir-lock.ts";
import { openDatabase } from "../../src/store/sql/open-store.ts";
import { ALL_TENANTS } from "../../src/store/tenant-scope.ts";
import { eventRecord } from "../support/records.ts";

/** The embedded store's data directory is one process's at a time; a crashed holder's lock is taken over. */

const CHILD = fileURLToPath(new URL("./lock-child.ts", import.meta.url));
const quietLog = { info: () => {}, error: () => {} };
const root = mkdtempSync(join(tmpdir(), "chaukas-lock-"));
const template = join(root, "template");
let dirs = 0;

/** A migrated, closed, unlocked data directory: a copy of one made once, as initdb takes seconds. */
function freshDir(): string {
  const dir = join(root, `data-${++dirs}`);
  cpSync(template, dir, { recursive: true });
  return dir;
}

type Child = ChildProcessByStdio<Writable, Readable, null>;
interface ChildReport {
  pid: number;
  eventIds?: string[];
  name?: string;
  message?: string;
}

const children: Child[] = [];
const stores: Database[] = [];

/** Starts lock-child.ts; resolves with the child and its first report line. */
async function startChild(mode: "read" | "hold", dataDir: string): Promise<{ child: Child; report: ChildReport }> {
  const child = spawn(process.execPath, [CHILD, mode, dataDir], { stdio: ["pipe", "pipe", "inherit"] });
  children.push(child);
  const lines = createInterface({ input: child.stdout });
  const exited = once(child, "exit").then(([code]) => {
    throw new Error(`lock-child.ts exited (${code}) without reporting`);
  });
  const [line] = (await Promise.race([once(lines, "line"), exited])) as [string];
  return { child, report: JSON.parse(line) };
}

async function runChild(dataDir: string): Promise<ChildReport> {
  const { child, report } = await startChild("read", dataDir);
  if (child.exitCode === null) await once(child, "exit");
  return report;
}

async function open(dataDir: string): Promise<Database> {
  const store = await openDatabase({ kind: "embedded", dataDir }, quietLog);
  stores.push(store);
  return store;
}

async function close(store: Database): Promise<void> {
  stores.splice(stores.indexOf(store), 1);
  await store.close();
}

const lockFile = (dataDir: string) => join(dataDir, "chaukas.lock");

async function eventIds(store: Database): Promise<string[]> {
  const rows = await store.queryEvents(ALL_TENANTS, { filter: { tenantId: "lock" }, ascending: true, limit: 100 });
  return rows.map((r) => r.eventId);
}

// Each test creates a data directory (initdb) and starts Node processes that load PGlite: slow.
describe("embedded data-directory lock", { timeout: 120_000 }, () => {
  beforeAll(async () => {
    await (await openDatabase({ kind: "embedded", dataDir: template }, quietLog)).close();
  });
  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGKILL");
        await once(child, "exit");
      }
    }
    for (const store of stores.splice(0)) await store.close();
  });
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it("refuses another process while the directory is open, and lets it in after close", async () => {
    const dataDir = freshDir();
    const store = await open(dataDir);
    await store.insertEvents(ALL_TENANTS, [eventRecord({ tenantId: "lock", eventId: "parent" })]);

    const refused = await runChild(dataDir);
    expect(refused.name).toBe("DataDirLockedError");
    expect(refused.message).toContain(dataDir);
    expect(refused.message).toContain(`process ${process.pid}`);
    expect(refused.message).toContain("one process at a time");
    expect(readFileSync(lockFile(dataDir), "utf8")).toBe(String(process.pid));

    await close(store);
    expect(existsSync(lockFile(dataDir))).toBe(false);
    const reopened = await runChild(dataDir);
    expect(reopened).toEqual({ pid: reopened.pid, eventIds: ["parent"] });
  });

  it("refuses a second open in the same process", async () => {
    const dataDir = freshDir();
    const store = await open(dataDir);
    await store.insertEvents(ALL_TENANTS, [eventRecord({ tenantId: "lock", eventId: "first" })]);

    const second = openDatabase({ kind: "embedded", dataDir }, quietLog);
    await expect(second).rejects.toBeInstanceOf(DataDirLockedError);
    await expect(second).rejects.toThrow(`in use by process ${process.pid}`);
    // The refused open did not disturb the first: its lock and its data are intact.
    expect(readFileSync(lockFile(dataDir), "utf8")).toBe(String(process.pid));
    expect(await eventIds(store)).toEqual(["first"]);

    await close(store);
    const reopened = await open(dataDir);
    expect(await eventIds(reopened)).toEqual(["first"]);
  });

  it("takes over a stale lock holding a dead pid", async () => {
    const dataDir = freshDir();
    const dead = spawnSync(process.execPath, ["-e", ""]).pid;
    expect(dead).toBeGreaterThan(0);
    expect(existsSync(lockFile(dataDir))).toBe(false);
    writeFileSync(lockFile(dataDir), String(dead));

    const store = await open(dataDir);
    expect(readFileSync(lockFile(dataDir), "utf8")).toBe(String(process.pid));
    await store.insertEvents(ALL_TENANTS, [eventRecord({ tenantId: "lock", eventId: "after-takeover" })]);
    expect(await eventIds(store)).toEqual(["after-takeover"]);
  });

  it("takes over the lock of a holder that was killed, with its committed data", async () => {
    const dataDir = freshDir();
    const { child, report } = await startChild("hold", dataDir);
    expect(report.eventIds).toEqual([`from-${child.pid}`]);

    await expect(open(dataDir)).rejects.toThrow(`in use by process ${child.pid}`);

    child.kill("SIGKILL");
    await once(child, "exit");
    expect(readFileSync(lockFile(dataDir), "utf8")).toBe(String(child.pid));
    const store = await open(dataDir);
    expect(await eventIds(store)).toEqual([`from-${child.pid}`]);
  });
});
