import { afterAll, describe, expect, test } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.ts";
import { runCli, tempDir } from "./run-cli.ts";

/** `chaukas migrate` on the embedded store (PostgreSQL's owning role: test/security/database-roles.test.ts). */
describe("chaukas migrate", () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  // Creating a PGlite data directory takes seconds, more on a loaded machine.
  test("creates the embedded schema once, then finds it up to date", { timeout: 60_000 }, async () => {
    const first = await runCli(["migrate", "--data-dir", dir.path]);
    expect(first).toMatchObject({ code: 0, stdout: "" });
    expect(first.stderr).toMatch(/^applied migration 1764072000000_events\n.*the schema is up to date\n$/s);
    expect(first.stderr).toContain("applied migration 1764160000000_serving-role\n");
    expect(await runCli(["migrate", "--data-dir", dir.path])).toEqual({
      code: 0,
      stdout: "",
      stderr: "the schema is up to date\n",
    });
  });

  test("--migrate-database-url needs --database-url", () => {
    expect(() => loadConfig([], { CHAUKAS_MIGRATE_DATABASE_URL: "postgres://owner@db/chaukas" })).toThrow(
      new ConfigError("--migrate-database-url needs --database-url: the embedded database has one role"),
    );
  });
});
