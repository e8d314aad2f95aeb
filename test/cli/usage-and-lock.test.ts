import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { holdDataDir, runCli, tempDir } from "./run-cli.ts";

const SLOW = 120_000;

describe("chaukas usage errors", () => {
  it.each([
    [["bogus"], 'unknown command "bogus"'],
    [["export"], "export needs --tenant"],
    [["export", "--project", "p"], "export needs --tenant"],
    [["import"], "import takes exactly one file"],
    [["import", "a.jsonl", "b.jsonl"], "import takes exactly one file"],
    [["export", "--tenant", "t", "--colour", "red"], "Unknown option '--colour'"],
    [["export", "--tenant"], "Option '--tenant <value>' argument missing"],
  ])("%j prints the usage and exits 2", async (args, problem) => {
    const result = await runCli(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`chaukas: ${problem}`);
    expect(result.stderr).toContain("usage: chaukas <command> [options]");
    expect(result.stdout).toBe("");
  });

  // A command's own --help prints that command's usage (test/ops/cli.test.ts).
  it.each([[[]], [["help"]], [["--help"]]])("%j prints the usage and exits 0", async (args) => {
    const result = await runCli(args);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("usage: chaukas <command> [options]");
  });

  it("a bad --since exits 1 naming the flag", async () => {
    const dir = tempDir();
    try {
      const result = await runCli(["export", "--tenant", "t", "--since", "last tuesday", "--data-dir", dir.path]);
      expect(result.code).toBe(1);
      expect(result.stderr.trim()).toBe('chaukas: --since must be an ISO-8601 time, got "last tuesday"');
    } finally {
      dir.remove();
    }
  });
});

describe("chaukas on a data directory", () => {
  const dir = tempDir();
  const dataDir = join(dir.path, "data");
  afterAll(() => dir.remove());

  it(
    "reports a file it cannot read by its message, without a stack trace, before touching the store",
    async () => {
      const missing = join(dir.path, "missing.jsonl");
      const result = await runCli(["import", missing, "--data-dir", join(dir.path, "untouched")]);
      expect(result.code).toBe(1);
      expect(result.stderr.trim()).toBe(`chaukas: ENOENT: no such file or directory, access '${missing}'`);
      expect(existsSync(join(dir.path, "untouched"))).toBe(false);
    },
    SLOW,
  );

  it(
    "held by another process refuses with the lock message",
    async () => {
      const holder = await holdDataDir(dataDir);
      writeFileSync(join(dir.path, "any.jsonl"), "");
      try {
        for (const args of [
          ["import", join(dir.path, "any.jsonl"), "--data-dir", dataDir],
          ["export", "--tenant", "t"],
        ]) {
          const result = await runCli(args, { CHAUKAS_DATA_DIR: dataDir });
          expect(result.code).toBe(1);
          expect(result.stderr.trim()).toBe(
            `chaukas: the data directory ${dataDir} is in use by process ${holder.pid}; the embedded database ` +
              "allows one process at a time (stop that process, or set DATABASE_URL to share a PostgreSQL server)",
          );
        }
      } finally {
        await holder.release();
      }
      // Released, it opens again.
      const after = await runCli(["export", "--tenant", "t", "--data-dir", dataDir]);
      expect(after.code).toBe(0);
      expect(after.stderr.trim()).toBe("exported 0 events");
    },
    SLOW,
  );
});
