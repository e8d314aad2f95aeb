import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAIN } from "../../kit/server-process.ts";
import { holdDataDir, runScript } from "../cli/run-cli.ts";
import { ADMIN_URL, createTestDatabase, storeKinds } from "../support/databases.ts";

/**
 * What a newcomer sees when the server cannot start: one line on stderr saying what is wrong and
 * what to do, exit code 1, and never a key file of one store overwritten by another's.
 */

const ROOT = join(import.meta.dirname, "..", "..");
const SLOW = { timeout: 120_000 };
const server = (args: string[], env: Record<string, string> = {}) => runScript(MAIN, ["--port", "0", ...args], env);

let dataDir: string;
beforeAll(() => {
  dataDir = mkdtempSync(join(tmpdir(), "chaukas-startup-"));
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

it("DATABASE_URL that is no URL: says it is malformed", async () => {
  expect(await server(["--data-dir", dataDir], { DATABASE_URL: "not-a-url" })).toEqual({
    code: 1,
    stdout: "",
    stderr:
      "chaukas: --database-url/DATABASE_URL is malformed: expected postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE\n",
  });
});

it("DATABASE_URL where nothing listens: one line saying to start PostgreSQL there", SLOW, async () => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
  const { port } = closed.address() as { port: number };
  await new Promise((resolve) => closed.close(resolve));
  expect(
    await server(["--data-dir", dataDir], { DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/chaukas` }),
  ).toEqual({
    code: 1,
    stdout: "",
    stderr: `chaukas: nothing answers at 127.0.0.1:${port}: start PostgreSQL there, or fix the host and port in DATABASE_URL\n`,
  });
});

describe.skipIf(!(await storeKinds()).includes("postgres"))("on PostgreSQL", () => {
  const url = (change: (url: URL) => void) => {
    const result = new URL(ADMIN_URL);
    change(result);
    return result.toString();
  };
  const { hostname: host, port } = new URL(ADMIN_URL);
  const hostPort = `${host}:${port || "5432"}`;

  it("a database that does not exist: one line with the createdb command", SLOW, async () => {
    const name = `chaukas_missing_${randomBytes(4).toString("hex")}`;
    const answer = await server(["--data-dir", dataDir], {
      DATABASE_URL: url((u) => {
        u.pathname = `/${name}`;
      }),
    });
    expect(answer).toEqual({
      code: 1,
      stdout: "",
      stderr:
        `chaukas: database "${name}" does not exist on PostgreSQL at ${hostPort}: create it ` +
        `(createdb -h ${host} -p ${port || "5432"} -U postgres -O postgres ${name}) or name another in DATABASE_URL\n`,
    });
  });

  it("a role that does not exist: one line with the createuser command", SLOW, async () => {
    const role = `chaukas_nobody_${randomBytes(4).toString("hex")}`;
    const answer = await server(["--data-dir", dataDir], {
      DATABASE_URL: url((u) => {
        u.username = role;
      }),
    });
    expect(answer).toEqual({
      code: 1,
      stdout: "",
      stderr:
        `chaukas: role "${role}" does not exist on PostgreSQL at ${hostPort}: create it ` +
        `(createuser -h ${host} -p ${port || "5432"} -U postgres --pwprompt ${role}) or name another in DATABASE_URL\n`,
    });
  });

  describe("with a database", () => {
    let db: Awaited<ReturnType<typeof createTestDatabase>>;
    let occupied: Server;
    beforeAll(async () => {
      db = await createTestDatabase();
      occupied = createServer();
      await new Promise<void>((resolve) => occupied.listen(0, "127.0.0.1", resolve));
    });
    afterAll(async () => {
      occupied?.close();
      await db?.drop();
    });

    it("a port in use: one line naming it", SLOW, async () => {
      const { port: taken } = occupied.address() as { port: number };
      const answer = await server(["--data-dir", dataDir, "--insecure-no-auth", "--port", String(taken)], {
        DATABASE_URL: db.url,
      });
      expect(answer.code).toBe(1);
      expect(answer.stderr).toBe(
        `chaukas: 127.0.0.1:${taken} is already in use by another process: stop it, or choose another port (--port, or --metrics for the metrics)\n`,
      );
    });

    it("keeps a key file per store and never overwrites one", SLOW, async () => {
      const keysDir = mkdtempSync(join(tmpdir(), "chaukas-keys-"));
      try {
        // The embedded store's key, from an earlier start on this data directory.
        writeFileSync(join(keysDir, "admin-key"), "the embedded store's key\n");
        const { hostname, port: dbPort, pathname } = new URL(db.url);
        const file = join(keysDir, `admin-key-postgres-${hostname}-${dbPort || "5432"}-${pathname.slice(1)}`);
        // ...and one left from an earlier database of the same name.
        writeFileSync(file, "an older key\n");
        // The first start on a new database creates its first key; it stops at the port in use.
        const { port: taken } = occupied.address() as { port: number };
        const answer = await server(["--data-dir", keysDir, "--port", String(taken)], { DATABASE_URL: db.url });
        expect(answer.stdout).toMatch(
          new RegExp(`It is shown only this once,\\nand NOT saved: ${file} already exists, and is left as it is\\.`),
        );
        expect(readFileSync(join(keysDir, "admin-key"), "utf8")).toBe("the embedded store's key\n");
        expect(readFileSync(file, "utf8")).toBe("an older key\n");
      } finally {
        rmSync(keysDir, { recursive: true, force: true });
      }
    });
  });
});

it("npm start checks the data directory's lock before it builds", SLOW, async () => {
  const scripts = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).scripts;
  expect(scripts.prestart).toBe("node scripts/check-data-dir.ts && npm run build");
  // npm runs a script named outright even with --ignore-scripts, without its prestart: no build.
  expect(scripts.serve).toBe("npm start --ignore-scripts --");
  const check = join(ROOT, "scripts", "check-data-dir.ts");
  expect(await runScript(check, [], { CHAUKAS_DATA_DIR: dataDir })).toEqual({ code: 0, stdout: "", stderr: "" });
  const holder = await holdDataDir(dataDir);
  try {
    expect(await runScript(check, [], { CHAUKAS_DATA_DIR: dataDir })).toEqual({
      code: 1,
      stdout: "",
      stderr:
        `chaukas: the data directory ${dataDir} is in use by process ${holder.pid}; the embedded database allows ` +
        "one process at a time (stop that process, or set DATABASE_URL to share a PostgreSQL server). " +
        "npm start would rebuild dist/ under it: stop it first, or start another server without a build: " +
        "npm run serve -- --data-dir DIR (or --database-url URL)\n",
    });
  } finally {
    await holder.release();
  }
});
