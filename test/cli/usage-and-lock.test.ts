import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { commandHelp, USAGE } from "../../src/cli/usage.ts";
import { holdDataDir, runCli, tempDir } from "./run-cli.ts";

const SLOW = 120_000;
const REDACTION_TAKES = "redaction takes show --tenant T, or set FILE --tenant T [--expected-version N]";
const DAYS_RULE = "must be a whole number of days up to 36500 (100 years), 0 to keep forever";
const EXPECTED_VERSION = "--expected-version must be a version number";

describe("chaukas usage errors", () => {
  it.each([
    [["bogus"], 'unknown command "bogus"'],
    [["help", "bogus"], 'unknown command "bogus"'],
    [["export"], "export needs --tenant"],
    [["export", "--project", "p"], "export needs --tenant"],
    [["import"], "import takes exactly one file"],
    [["import", "a.jsonl", "b.jsonl"], "import takes exactly one file"],
    [["export", "--tenant", "t", "--colour", "red"], "Unknown option '--colour'"],
    [["export", "--tenant"], "Option '--tenant <value>' argument missing"],
    [["keys", "create", "--projct", "x"], "Unknown option '--projct'"],
    [["keys", "revoke", "--force", "id"], "Unknown option '--force'"],
    [["keys", "creat"], 'unknown keys command "creat"'],
    [["keys", "create", "--role", "read"], "--tenant is required"],
    [["keys", "create", "--tenant", "t"], "--role is required"],
    [["keys", "revoke"], "keys revoke takes one key id"],
    [["retention", "set", "--days", "1"], "--tenant is required"],
    [["retention", "set", "--tenant", "t"], "--days is required"],
    [["retention", "purge"], 'unknown retention command "purge"'],
    [["erase", "--tenant", "t"], "--request is required"],
    [["keys", "list", "--tenant"], "Option '--tenant <value>' argument missing"],
    [["retention"], 'unknown retention command ""'],
    [["retention", "show"], "--tenant is required"],
    [["retention", "set", "--tenant", "t", "--dayz", "1"], "Unknown option '--dayz'"],
    [["erase", "--request", "R"], "--tenant is required"],
    [["erase", "--tenant", "t", "--request", "R", "--sesion", "s"], "Unknown option '--sesion'"],
    [["redaction", "show"], REDACTION_TAKES],
    [["redaction", "set", "--tenant", "t"], REDACTION_TAKES],
    [["redaction", "sho", "--tenant", "t"], REDACTION_TAKES],
    [
      ["redaction", "show", "--tenant", "t", "--server", "http://127.0.0.1:1"],
      "redaction opens the database itself and takes no --server (a server's: RedactionService)",
    ],
  ])(
    "%j prints one chaukas: line, then the command's usage, exits 2 and creates no data directory",
    async (args, problem) => {
      // Typed in a fresh directory, where the default data directory ./data would be created.
      const dir = tempDir();
      try {
        const result = await runCli(args, {}, dir.path);
        const usage = commandHelp(args[0]) ?? USAGE;
        expect(result).toEqual({ code: 2, stdout: "", stderr: `chaukas: ${problem}\n\n${usage}\n` });
        expect(existsSync(join(dir.path, "data"))).toBe(false);
      } finally {
        dir.remove();
      }
    },
  );

  it.each([
    [["keys", "create", "--tenant", "t", "--role", "owner"], "--role must be ingest, read or admin"],
    [["keys", "create", "--tenant", "t", "--role", "read", "--project", ""], "--project must not be empty"],
    [["retention", "set", "--tenant", "t", "--days", "1.5"], `--days ${DAYS_RULE}`],
    [["retention", "set", "--tenant", "t", "--days", "36501"], `--days ${DAYS_RULE}`],
    [["erase", "--tenant", "t", "--request", "R", "--metadata", "user_id"], "--metadata must be KEY=VALUE"],
    [["redaction", "set", "missing.json", "--tenant", "t"], "cannot read missing.json: no such file"],
    [["redaction", "set", "rules.json", "--tenant", "t", "--expected-version", "v1"], EXPECTED_VERSION],
  ])("%j refuses a flag's value in one line, exits 1 and creates no data directory", async (args, problem) => {
    const dir = tempDir();
    try {
      // Valid rules, so only the flag named is wrong.
      writeFileSync(join(dir.path, "rules.json"), "{}");
      expect(await runCli(args, {}, dir.path)).toEqual({ code: 1, stdout: "", stderr: `chaukas: ${problem}\n` });
      expect(existsSync(join(dir.path, "data"))).toBe(false);
    } finally {
      dir.remove();
    }
  });

  it("reports the usage error of a store command before connecting to DATABASE_URL", async () => {
    // Nothing listens on port 1: a connection made first would fail there, not with the usage error.
    const env = { DATABASE_URL: "postgres://chaukas@127.0.0.1:1/chaukas" };
    for (const [args, problem] of [
      [["keys", "create", "--role", "read"], "--tenant is required"],
      [["retention", "set", "--tenant", "t"], "--days is required"],
      [["erase", "--tenant", "t"], "--request is required"],
      [["redaction", "show"], REDACTION_TAKES],
    ] as [string[], string][]) {
      const usage = commandHelp(args[0]) ?? USAGE;
      expect(await runCli(args, env), args.join(" ")).toEqual({
        code: 2,
        stdout: "",
        stderr: `chaukas: ${problem}\n\n${usage}\n`,
      });
    }
  });

  it("--version prints the package's version", async () => {
    const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
    expect(await runCli(["--version"])).toEqual({ code: 0, stdout: `${version}\n`, stderr: "" });
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
    "reports a file it cannot read in one line, without a stack trace, before touching the store",
    async () => {
      const missing = join(dir.path, "missing.jsonl");
      const folder = join(dir.path, "folder");
      mkdirSync(folder);
      const untouched = ["--data-dir", join(dir.path, "untouched")];
      for (const [args, problem] of [
        [["import", missing], `cannot read ${missing}: no such file`],
        [["import", folder], `cannot read ${folder}: it is a directory`],
        [
          ["verify", "--export", missing, "--checkpoint", folder, "--public-key", "k"],
          `cannot read ${missing}: no such file`,
        ],
        [
          ["verify", "--export", folder, "--checkpoint", folder, "--public-key", "k"],
          `cannot read ${folder}: it is a directory`,
        ],
        [["verify", "--tenant", "t", "--checkpoint", folder], `cannot read ${folder}: it is a directory`],
      ] as [string[], string][]) {
        expect(await runCli([...args, ...untouched]), args.join(" ")).toEqual({
          code: 1,
          stdout: "",
          stderr: `chaukas: ${problem}\n`,
        });
      }
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
