import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commandHelp } from "../../src/cli/usage.ts";
import { runCli, tempDir } from "../cli/run-cli.ts";

/**
 * Every CLI command answers `--help` with its own usage, and a command that only reads refuses a
 * data directory holding no database instead of creating an empty one and reading nothing from it.
 */

const COMMANDS = ["import", "export", "keys", "redaction", "retention", "erase", "verify", "migrate"];

describe.each(COMMANDS)("chaukas %s", (command) => {
  it.each(["--help", "-h"])(`${command} %s prints its usage and exits 0`, async (flag) => {
    const answer = await runCli([command, flag]);
    expect(answer).toEqual({ code: 0, stdout: `${commandHelp(command)}\n`, stderr: "" });
    expect(answer.stdout).toMatch(new RegExp(`^usage: chaukas ${command} \\[options\\]\\n\\n {2}${command}\\b`));
  });
});

it("keys --help lists every keys command; help keys says the same", async () => {
  const { stdout } = await runCli(["keys", "--help"]);
  for (const action of ["keys create", "keys list", "keys revoke", "keys rotate-signing"]) {
    expect(stdout).toContain(action);
  }
  expect(await runCli(["help", "keys"])).toEqual({ code: 0, stdout, stderr: "" });
  expect(await runCli(["help", "nothing"])).toMatchObject({
    code: 2,
    stderr: expect.stringContaining('unknown command "nothing"'),
  });
});

describe("read-only commands and a data directory holding no database", () => {
  let dir: ReturnType<typeof tempDir>;
  beforeAll(() => {
    dir = tempDir();
  });
  afterAll(() => dir.remove());

  it.each([
    ["export", "--tenant", "t"],
    ["verify", "--tenant", "t"],
    ["keys", "list"],
    ["redaction", "show", "--tenant", "t"],
    ["retention", "show", "--tenant", "t"],
  ])("%s %s %s refuses it and creates nothing", async (...args) => {
    const missing = join(dir.path, "mistyped");
    expect(await runCli([...args, "--data-dir", missing])).toEqual({
      code: 1,
      stdout: "",
      stderr:
        `chaukas: ${missing} holds no database: name the data directory of a server with --data-dir ` +
        "(CHAUKAS_DATA_DIR), or a PostgreSQL database with --database-url (DATABASE_URL)\n",
    });
    expect(existsSync(missing)).toBe(false);
  });
});
