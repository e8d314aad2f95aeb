import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServerProcess } from "../../kit/server-process.ts";
import { createTestDatabase, storeKinds } from "../support/databases.ts";

/**
 * A server imports only what its store needs (docs/adr/0032-heap-at-rest.md): every package a
 * module holds stays in its heap for the life of the process.
 */

const SLOW = { timeout: 180_000 };
const RECORDER = join(import.meta.dirname, "..", "support", "record-imports.ts");

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "chaukas-imports-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Starts the built server with `args`, stops it, and returns the packages it imported. */
async function importsOfAStart(args: string[]): Promise<string[]> {
  const file = join(dir, `imports-${Date.now()}.json`);
  const server = await startServerProcess(args, {
    nodeFlags: ["--import", RECORDER],
    env: { RECORD_IMPORTS_FILE: file },
  });
  await server.stop();
  return JSON.parse(readFileSync(file, "utf8"));
}

describe.skipIf(!(await storeKinds()).includes("postgres"))("a server on PostgreSQL", () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it(
    "loads node-pg-migrate only to migrate, and never PGlite or the incubating semantic conventions",
    SLOW,
    async () => {
      const args = ["--data-dir", join(dir, "pg"), "--database-url", db.url, "--insecure-no-auth"];
      const first = await importsOfAStart(args);
      expect(first).toContain("pg");
      expect(first).toContain("node-pg-migrate");

      const second = await importsOfAStart(args);
      expect(second).toContain("pg");
      expect(second).toContain("fastify");
      expect(second).not.toContain("node-pg-migrate");
      for (const imported of [...first, ...second]) {
        expect(imported).not.toMatch(/^@electric-sql\/pglite|^@opentelemetry\/semantic-conventions/);
      }
    },
  );
});

it("an embedded server loads PGlite, and node-pg-migrate only to migrate", SLOW, async () => {
  const args = ["--data-dir", join(dir, "embedded"), "--insecure-no-auth"];
  const first = await importsOfAStart(args);
  expect(first).toContain("@electric-sql/pglite");
  expect(first).toContain("node-pg-migrate");

  const second = await importsOfAStart(args);
  expect(second).toContain("@electric-sql/pglite");
  expect(second).not.toContain("node-pg-migrate");
  for (const imported of [...first, ...second]) expect(imported).not.toMatch(/^@opentelemetry\/semantic-conventions/);
});
