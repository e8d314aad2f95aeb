import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";

// Each call starts the CLI on an embedded database: seconds apiece when the whole suite shares the machine.
const CLI_TEST_TIMEOUT = 120_000;
const CLI = join(import.meta.dirname, "..", "..", "src", "cli", "main.ts");
const dataDir = mkdtempSync(join(tmpdir(), "chaukas-keys-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

function chaukas(...args: string[]) {
  const run = spawnSync(process.execPath, [CLI, ...args, "--data-dir", dataDir], {
    encoding: "utf8",
    env: { ...process.env, DATABASE_URL: "" },
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

test("keys create prints the secret once, alone on stdout's last line; list never shows it; revoke marks it", {
  timeout: CLI_TEST_TIMEOUT,
}, () => {
  const created = chaukas(
    "keys",
    "create",
    "--tenant",
    "acme",
    "--role",
    "ingest",
    "--project",
    "web",
    "--project",
    "api",
  );
  expect(created.code).toBe(0);
  const lines = created.stdout.trimEnd().split("\n");
  const secret = lines.at(-1) ?? "";
  expect(secret).toMatch(/^chk_[a-z2-9]{12}_[A-Za-z0-9_-]{43}$/);
  const id = secret.slice(4, 16);
  expect(created.stderr).toContain(`created key ${id}: role ingest of tenant acme, projects web, api`);

  const listed = chaukas("keys", "list", "--tenant", "acme");
  expect(listed.code).toBe(0);
  expect(listed.stdout).not.toContain(secret.slice(17));
  const row = listed.stdout
    .split("\n")
    .find((line) => line.startsWith(id))
    ?.split("\t");
  expect(row?.slice(0, 4)).toEqual([id, "acme", "ingest", "web,api"]);
  expect(row?.[5]).toBe("never");
  expect(row?.[6]).toBe("");

  expect(chaukas("keys", "revoke", id).code).toBe(0);
  const revokedRow = chaukas("keys", "list")
    .stdout.split("\n")
    .find((line) => line.startsWith(id));
  expect(revokedRow?.split("\t")[6]).toMatch(/^\d{4}-\d\d-\d\dT/);
  expect(chaukas("keys", "revoke", id)).toMatchObject({
    code: 1,
    stderr: expect.stringContaining(`no active key ${id}`),
  });
});

test("keys create refuses a bad role or a missing tenant with a clear message", { timeout: CLI_TEST_TIMEOUT }, () => {
  const bad = chaukas("keys", "create", "--tenant", "acme", "--role", "owner");
  expect(bad.code).toBe(1);
  expect(bad.stderr).toBe("chaukas: --role must be ingest, read or admin\n");
  expect(bad.stdout).toBe("");
  const missing = chaukas("keys", "create", "--role", "read");
  expect(missing.code).toBe(2);
  expect(missing.stderr).toMatch(/^chaukas: --tenant is required\n/);
});
