import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../src/store/sql/open-store.ts";
import { ALL_TENANTS } from "../../src/store/tenant-scope.ts";
import { eventRecord } from "../support/records.ts";

/** The embedded data directory is its owner's alone: 0700, and no file in it open to group or others. */

const quietLog = { info: () => {}, error: () => {} };
const root = mkdtempSync(join(tmpdir(), "chaukas-modes-"));

/** Every path under `dir` (itself included) whose mode grants group or others anything, with that mode. */
function openToOthers(dir: string): string[] {
  const paths = [dir, ...readdirSync(dir, { recursive: true }).map((p) => join(dir, String(p)))];
  return paths
    .map((p) => [p, statSync(p).mode & 0o777] as const)
    .filter(([, mode]) => (mode & 0o077) !== 0)
    .map(([p, mode]) => `${p} ${mode.toString(8)}`);
}

async function useOnce(dataDir: string): Promise<void> {
  const store = await openDatabase({ kind: "embedded", dataDir }, quietLog);
  await store.insertEvents(ALL_TENANTS, [eventRecord({ tenantId: "modes", eventId: "one" })]);
  await store.close();
}

// Creating a data directory runs initdb: seconds on a shared machine.
describe("embedded data-directory permissions", { timeout: 120_000 }, () => {
  beforeAll(() => {
    // The usual umask, under which PGlite's files came out 0666.
    process.umask(0o022);
  });
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it("creates the directory 0700 and its files without group or other access", async () => {
    const dataDir = join(root, "fresh");
    await useOnce(dataDir);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(readdirSync(dataDir, { recursive: true }).length).toBeGreaterThan(500);
    expect(openToOthers(dataDir)).toEqual([]);
    expect(statSync(join(dataDir, "global", "pg_control")).mode & 0o777).toBe(0o600);
  });

  it("takes group and other access away from an existing directory at start", async () => {
    const dataDir = join(root, "loose");
    await useOnce(dataDir);
    writeFileSync(join(dataDir, "admin-key"), "chk_secret\n", { mode: 0o644 });
    chmodSync(join(dataDir, "admin-key"), 0o644);
    for (const path of readdirSync(dataDir, { recursive: true }).map((p) => join(dataDir, String(p)))) {
      chmodSync(path, statSync(path).isDirectory() ? 0o755 : 0o666);
    }
    chmodSync(dataDir, 0o777);
    expect(openToOthers(dataDir).length).toBeGreaterThan(500);

    await useOnce(dataDir);
    expect(openToOthers(dataDir)).toEqual([]);
    expect(statSync(join(dataDir, "admin-key")).mode & 0o777).toBe(0o600);
  });
});
