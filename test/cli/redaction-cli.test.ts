import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { runCli } from "./run-cli.ts";

// Each call starts the CLI on an embedded database: seconds apiece when the whole suite shares the machine.
const CLI_TEST_TIMEOUT = 180_000;
const dir = mkdtempSync(join(tmpdir(), "chaukas-redaction-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const env = { CHAUKAS_DATA_DIR: join(dir, "data") };

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

  writeFileSync(file, JSON.stringify({ detectors: { emails: "mask" } }));
  const bad = await runCli(["redaction", "set", file, "--tenant", "acme"], env);
  expect(bad.code).not.toBe(0);
  expect(bad.stderr).toContain("detectors.emails");
});
