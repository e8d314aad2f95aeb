import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { killServerProcesses, type ServerProcess, startServerProcess } from "../../kit/server-process.ts";
import { adminKeyFile } from "../../src/app.ts";
import { createTestDatabase, type StoreKind, storeKinds } from "../support/databases.ts";
import { type CliResult, runCli, tempDir } from "./run-cli.ts";

/**
 * `chaukas retention` and `chaukas erase`, the real CLI, through a running server's AdminService
 * and, once it stopped, on the database itself: the same output and exit codes either way.
 */

const EXAMPLES = new URL("../../docs/examples/events.jsonl", import.meta.url).pathname;
const SLOW = 300_000;

/** The examples (from 2026-11-25) and three events of today, two of them the data subject u-123's. */
function eventsOf(tenant: string): string {
  const today = new Date().toISOString().slice(0, -1);
  const event = (id: string, metadata: object) =>
    JSON.stringify({
      event_id: id,
      tenant_id: tenant,
      project_id: "web",
      session_id: "session-subject",
      type: "EVENT_TYPE_INPUT_RECEIVED",
      severity: "SEVERITY_INFO",
      status: "EVENT_STATUS_COMPLETED",
      timestamp: today,
      author: "AUTHOR_USER",
      metadata,
    });
  return [
    readFileSync(EXAMPLES, "utf8").trim().replaceAll('"tenant_id": "acme"', `"tenant_id": "${tenant}"`),
    event("subject-1", { user_id: "u-123", plan: "pro" }),
    event("subject-2", { user_id: "u-123" }),
    event("friend-1", { user_id: "u-9", friend: "u-123" }),
    "",
  ].join("\n");
}

/** The same commands for any tenant; what differs between runs is made comparable below. */
const scenario = (tenant: string) => [
  ["retention", "show", "--tenant", tenant],
  ["retention", "set", "--tenant", tenant, "--project", "web", "--days", "7", "--by", "ops"],
  ["erase", "--tenant", tenant, "--request", "REQ-1"],
  ["erase", "--tenant", tenant, "--request", "DSR-9", "--metadata", "user_id=u-123"],
  ["erase", "--tenant", tenant, "--request", "DSR-10", "--metadata", "user_id"],
  ["retention", "run"],
  ["retention", "show", "--tenant", tenant],
  ["erase", "--tenant", tenant, "--request", "REQ-2", "--session", "0199e1a0-0000-7000-8000-0000000000f1"],
];

const comparable = (tenant: string, result: CliResult) =>
  JSON.parse(
    JSON.stringify(result)
      .replaceAll(tenant, "TENANT")
      .replace(/chaukas-purge-[\w-]+/g, "chaukas-purge-…")
      .replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, "…"),
  );

describe.each(await storeKinds())("chaukas retention and erase on the %s store", (kind: StoreKind) => {
  const dir = tempDir();
  const dataDir = join(dir.path, "data");
  let server: ServerProcess;
  let databaseUrl = "";
  let drop = async () => {};
  /** The CLI as an operator runs it: embedded, in the data directory; PostgreSQL, `--server URL` while one runs. */
  const throughServer = (...args: string[]) =>
    kind === "embedded"
      ? runCli([...args, "--data-dir", dataDir])
      : runCli([...args, "--server", server.baseUrl], {
          CHAUKAS_API_KEY: readFileSync(adminKeyFile({ databaseUrl, dataDir }), "utf8").trim(),
        });
  const direct = (...args: string[]) =>
    runCli([...args, "--data-dir", dataDir, ...(kind === "postgres" ? ["--database-url", databaseUrl] : [])]);
  /** What each command of `scenario("acme")` answered through the server, in order. */
  const served: CliResult[] = [];

  beforeAll(async () => {
    if (kind === "postgres") ({ url: databaseUrl, drop } = await createTestDatabase());
    server = await startServerProcess(["--data-dir", dataDir, "--checkpoint-interval-ms", "100"], {
      env: { DATABASE_URL: databaseUrl },
    });
  }, SLOW);
  afterAll(async () => {
    killServerProcesses();
    await drop();
    dir.remove();
  });

  it(
    "sets, shows and runs retention, erases by metadata, and refuses an erasure of everything, through the server",
    async () => {
      for (const tenant of ["acme", "beta"]) {
        const file = join(dir.path, `${tenant}.jsonl`);
        writeFileSync(file, eventsOf(tenant));
        expect((await throughServer("import", file)).stderr).toContain("8 events accepted");
      }
      for (const command of scenario("acme")) served.push(await throughServer(...command));
      const [shownBefore, set, everything, subject, noValue, run, shownAfter, again] = served;

      expect(shownBefore.stdout).toBe("tenant acme keeps its events' content forever\n");
      expect(set.stdout).toMatch(/^project web\t7 days\tset by ops at \S+Z\n$/);
      expect([everything.code, everything.stderr]).toEqual([
        1,
        "chaukas: selector: name a session, an agent, event ids, a tag or a metadata value: erasing everything is not an erasure\n",
      ]);
      expect(subject.code).toBe(0);
      expect(subject.stdout).toMatch(/^web\t2\tchaukas-purge-[\w-]+\n$/);
      expect(subject.stderr).toBe("erased 2 events in 1 purge\n");
      expect(noValue.stderr).toBe("chaukas: --metadata must be KEY=VALUE\n");
      // The examples are older than 7 days; the events of today are kept.
      expect([run.code, run.stderr]).toEqual([0, "purged 5 events in 1 purge\n"]);
      expect(run.stdout).toMatch(/^acme\tweb\t5\tchaukas-purge-[\w-]+\n$/);
      expect(shownAfter.stdout).toMatch(/^project web\t7 days\tset by ops at \S+Z\n$/);
      // Purged events are not taken twice.
      expect(again.stderr).toBe("erased 0 events in 0 purges\n");

      // The server signs the purge records; verify lists both and passes.
      let verified = await throughServer("verify", "--tenant", "acme");
      while (!verified.stdout.startsWith("OK: 10 entries") || verified.stdout.includes("warning")) {
        await sleep(100);
        verified = await throughServer("verify", "--tenant", "acme");
      }
      expect(verified.code).toBe(0);
      expect(verified.stdout).toMatch(/purge: .* erasure at .* 2 event\(s\): erasure request DSR-9 by metadata/);
      expect(verified.stdout).toMatch(/purge: .* retention at .* 5 event\(s\)/);
      const exported = (await throughServer("export", "--tenant", "acme")).stdout;
      expect(exported).toContain('"friend":"u-123"');
      expect(exported.split("\n").filter((line) => line.includes('"user_id":"u-123"'))).toEqual([]);
    },
    SLOW,
  );

  it(
    "refuses, through the server, a key of another tenant and a key limited to projects",
    async () => {
      const asKey = (key: string, ...args: string[]) =>
        runCli([...args, "--server", server.baseUrl], { CHAUKAS_API_KEY: key });
      const keyOf = async (...projects: string[]) =>
        (
          await throughServer(
            "keys",
            "create",
            "--tenant",
            "acme",
            "--role",
            "admin",
            ...projects.flatMap((p) => ["--project", p]),
          )
        ).stdout.trim();
      const acmeAdmin = await keyOf();
      const outside = await asKey(acmeAdmin, "erase", "--tenant", "beta", "--request", "R", "--metadata", "a=b");
      expect([outside.code, outside.stderr]).toEqual([
        1,
        `chaukas: tenant_id "beta" is outside the scope of key ${acmeAdmin.split("_")[1]}\n`,
      ]);
      expect((await asKey(acmeAdmin, "retention", "show", "--tenant", "acme")).stdout).toMatch(/^project web\t7 days/);
      const webAdmin = await keyOf("web");
      const limited = await asKey(webAdmin, "retention", "show", "--tenant", "acme");
      expect([limited.code, limited.stderr]).toEqual([
        1,
        `chaukas: key ${webAdmin.split("_")[1]} is limited to projects: retention needs a tenant-wide key\n`,
      ]);
    },
    SLOW,
  );

  it.runIf(kind === "postgres")(
    "on PostgreSQL, an erasure on the database itself finishes while the server holds the background lease",
    async () => {
      const file = join(dir.path, "gamma.jsonl");
      writeFileSync(file, eventsOf("gamma"));
      expect((await throughServer("import", file)).code).toBe(0);
      const erased = await direct("erase", "--tenant", "gamma", "--request", "DSR-11", "--metadata", "user_id=u-123");
      expect([erased.code, erased.stderr]).toEqual([0, "erased 2 events in 1 purge\n"]);
    },
    SLOW,
  );

  it(
    "refuses to rotate the signing key under a running server, in one line",
    async () => {
      const stopFirst =
        "signs checkpoints with the key it loaded at start: stop every server, rotate, then start them again";
      const rotated = await throughServer("keys", "rotate-signing");
      expect([rotated.code, rotated.stdout]).toEqual([1, ""]);
      expect(rotated.stderr).toBe(`chaukas: the server at ${server.baseUrl} ${stopFirst}\n`);
      if (kind === "postgres") {
        const onDatabase = await direct("keys", "rotate-signing");
        expect([onDatabase.code, onDatabase.stderr]).toEqual([
          1,
          `chaukas: a server runs on this database (it holds its background lease) and ${stopFirst}\n`,
        ]);
      }
    },
    SLOW,
  );

  it(
    "once the server stopped, the same commands on the database answer the same, and the key rotates",
    async () => {
      await server.stop();
      for (const [i, command] of scenario("beta").entries()) {
        const answer = await direct(...command);
        expect(comparable("beta", answer), command.join(" ")).toEqual(comparable("acme", served[i]));
      }
      const verified = await direct("verify", "--tenant", "beta");
      expect(verified.code).toBe(0);
      expect(verified.stdout).toMatch(/purge: .* erasure at .* 2 event\(s\): erasure request DSR-9 by metadata/);
      const rotated = await direct("keys", "rotate-signing");
      expect(rotated.code).toBe(0);
      expect(rotated.stdout).toMatch(/^\S+\+\S+\n$/);
    },
    SLOW * 3,
  );
});
