import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { createTestDatabase } from "../support/databases.ts";
import { runCli } from "./run-cli.ts";

// On PostgreSQL: a fresh embedded database per CLI call took minutes on a busy machine.
const CLI_TEST_TIMEOUT = 180_000;
const dir = mkdtempSync(join(tmpdir(), "chaukas-redaction-cli-"));
let env: Record<string, string> = {};
let drop = async () => {};
beforeAll(async () => {
  const db = await createTestDatabase();
  env = { DATABASE_URL: db.url };
  drop = db.drop;
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await drop();
});

test("redaction set stores a new version that show prints; bad rules are refused by name", {
  timeout: CLI_TEST_TIMEOUT,
}, async () => {
  const file = join(dir, "rules.json");
  writeFileSync(
    file,
    JSON.stringify({ detectors: { email: "hash" }, fields: [{ path: "metadata.ssn", method: "drop" }] }),
  );
  const set = await runCli(["redaction", "set", file, "--tenant", "acme"], env);
  expect(set.stderr).toContain("tenant acme: redaction rules are now version 1");
  expect(set.code).toBe(0);

  const shown = await runCli(["redaction", "show", "--tenant", "acme"], env);
  expect(shown.code).toBe(0);
  const current = JSON.parse(shown.stdout);
  expect(current).toMatchObject({
    tenant_id: "acme",
    version: 1,
    changed_by: "local administrator",
    rules: { detectors: { email: "hash" }, fields: [{ path: "metadata.ssn", method: "drop" }], projects: {} },
  });

  // What show prints is what set reads: the same rules again are version 2.
  writeFileSync(file, shown.stdout);
  expect((await runCli(["redaction", "set", file, "--tenant", "acme", "--expected-version", "1"], env)).code).toBe(0);

  writeFileSync(file, "{ detectors: }");
  expect(await runCli(["redaction", "set", file, "--tenant", "acme"], env)).toEqual({
    code: 1,
    stdout: "",
    stderr: `chaukas: ${file} is not JSON: ${jsonError("{ detectors: }")}\n`,
  });

  // A key that is no rule's is refused as SetRules refuses it, never read as "no rules".
  writeFileSync(file, JSON.stringify({ detector: { email: "hash" } }));
  expect(await runCli(["redaction", "set", file, "--tenant", "acme"], env)).toEqual({
    code: 1,
    stdout: "",
    stderr: `chaukas: ${file}: cannot decode message chaukas.backend.v1.RedactionRules from JSON: key "detector" is unknown\n`,
  });
  // What show printed for one tenant is not set for another by mistake.
  writeFileSync(file, shown.stdout);
  expect(await runCli(["redaction", "set", file, "--tenant", "globex"], env)).toEqual({
    code: 1,
    stdout: "",
    stderr: `chaukas: ${file} holds the rules of tenant acme, not of --tenant globex\n`,
  });
  expect(JSON.parse((await runCli(["redaction", "show", "--tenant", "acme"], env)).stdout).version).toBe(2);

  writeFileSync(file, JSON.stringify({ detectors: { emails: "mask" } }));
  const bad = await runCli(["redaction", "set", file, "--tenant", "acme"], env);
  expect(bad.code).not.toBe(0);
  expect(bad.stderr).toContain("detectors.emails");
});

function jsonError(text: string): string {
  try {
    JSON.parse(text);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error(`${text} is JSON`);
}
