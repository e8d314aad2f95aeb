import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { killServerProcesses, type ServerProcess, startServerProcess } from "../../kit/server-process.ts";
import { adminKeyFile } from "../../src/app.ts";
import { commandHelp } from "../../src/cli/usage.ts";
import { type CliResult, runCli, tempDir } from "./run-cli.ts";
import { INPUT, LLM_END, TOOL_START } from "./sdk-file.ts";

const SLOW = 240_000;
/** Each command on the stopped server's data directory opens the embedded database anew. */
const SLOWER = 900_000;

/** What differs between two runs of the same command: new key ids, timings. */
const comparable = (result: CliResult) => ({
  code: result.code,
  stdout: result.stdout.replace(/chk_[\w-]+/g, "chk_…"),
  stderr: result.stderr.replace(/key \w{12}\b/g, "key …").replace(/\d+\.\d s$/m, "… s"),
});

/**
 * The CLI in the data directory of a running server on the embedded database administers through
 * its AdminService; once the server is stopped, the same commands run on the database itself, with
 * the same output and exit codes.
 */
describe("chaukas commands while the server runs, and after it stopped", () => {
  const dir = tempDir();
  const dataDir = join(dir.path, "data");
  const file = join(dir.path, "events.jsonl");
  const cli = (...args: string[]) => runCli([...args, "--data-dir", dataDir]);
  const commands: string[][] = [
    ["keys", "create", "--tenant", "acme", "--role", "ingest", "--project", "web"],
    ["keys", "create", "--tenant", "acme", "--role", "owner"],
    ["keys", "revoke", "nosuchkey000"],
    ["keys", "revoke"],
    ["import", file],
    ["export", "--tenant", "acme"],
    ["verify", "--tenant", "acme"],
  ];
  let server: ServerProcess;
  const throughServer = new Map<string, CliResult>();
  let ingestKey: string;
  let listed: CliResult;

  beforeAll(async () => {
    writeFileSync(file, `${[LLM_END, "[1, 2]", TOOL_START, INPUT].join("\n")}\n`);
    server = await startServerProcess(["--data-dir", dataDir, "--checkpoint-interval-ms", "100"]);
  }, SLOW);
  afterAll(async () => {
    killServerProcesses();
    dir.remove();
  });

  it(
    "finds the server through the file it announces itself in, readable only by its owner",
    () => {
      const announcement = JSON.parse(readFileSync(join(dataDir, "server.json"), "utf8"));
      expect(announcement).toEqual({ url: server.baseUrl, pid: server.pid });
      expect(statSync(join(dataDir, "server.json")).mode & 0o777).toBe(0o600);
    },
    SLOW,
  );

  it(
    "keys, import, export and verify answer through the server",
    async () => {
      const created = await cli(...commands[0]);
      expect(created.code).toBe(0);
      expect(created.stderr).toMatch(/^created key \w{12}: role ingest of tenant acme, projects web\./);
      ingestKey = created.stdout.trim();
      expect(ingestKey).toMatch(/^chk_\w{12}_[\w-]+$/);
      throughServer.set("create", created);

      listed = await cli("keys", "list", "--tenant", "acme");
      expect(listed.code).toBe(0);
      const rows = listed.stdout.trim().split("\n");
      expect(rows[0]).toBe("id\ttenant\trole\tprojects\tcreated\tlast used\trevoked");
      expect(rows.slice(1).map((row) => row.split("\t").slice(0, 4))).toEqual([
        [ingestKey.split("_")[1], "acme", "ingest", "web"],
      ]);

      for (const command of commands.slice(1, 5)) throughServer.set(command.join(" "), await cli(...command));
      // One chaukas: line each, naming the flags as typed (the server's own answer names its fields).
      expect(throughServer.get(commands[1].join(" "))).toEqual({
        code: 1,
        stdout: "",
        stderr: "chaukas: --role must be ingest, read or admin\n",
      });
      expect(throughServer.get("keys revoke nosuchkey000")).toEqual({
        code: 1,
        stdout: "",
        stderr: "chaukas: no active key nosuchkey000\n",
      });
      expect(throughServer.get("keys revoke")).toEqual({
        code: 2,
        stdout: "",
        stderr: `chaukas: keys revoke takes one key id\n\n${commandHelp("keys")}\n`,
      });
      expect(throughServer.get(`import ${file}`)?.stderr).toMatch(
        new RegExp(
          `^imported ${file}: 4 lines, 3 events accepted \\(already stored ones are kept once\\), 1 bad line, \\d+\\.\\d s$`,
          "m",
        ),
      );

      // Verified once the server has put the events in the log and signed them.
      let verified = await cli("verify", "--tenant", "acme");
      while (!verified.stdout.startsWith("OK: 3 entries") || verified.stdout.includes("warning")) {
        await sleep(100);
        verified = await cli("verify", "--tenant", "acme");
      }
      throughServer.set("verify --tenant acme", verified);
      throughServer.set("export --tenant acme", await cli("export", "--tenant", "acme"));
      expect(throughServer.get("export --tenant acme")?.stdout.trim().split("\n")).toHaveLength(3);

      const revokedId = ingestKey.split("_")[1];
      const revoked = await cli("keys", "revoke", revokedId);
      expect([revoked.code, revoked.stderr]).toEqual([0, `revoked key ${revokedId}\n`]);
      // The server saw the data directory's admin key in use: the CLI never opened the database.
      expect(existsSync(adminKeyFile({ dataDir }))).toBe(true);
    },
    SLOW,
  );

  it(
    "refuses a key that is not an admin key, and an admin key outside its tenant",
    async () => {
      const asKey = (key: string, ...args: string[]) =>
        runCli([...args, "--server", server.baseUrl], { CHAUKAS_API_KEY: key });
      const reader = (await cli("keys", "create", "--tenant", "acme", "--role", "read")).stdout.trim();
      const refused = await asKey(reader, "keys", "list");
      expect(refused.code).toBe(1);
      expect(refused.stderr.trim()).toBe(`chaukas: key ${reader.split("_")[1]} has role read, which may not admin`);

      const acmeAdmin = (await cli("keys", "create", "--tenant", "acme", "--role", "admin")).stdout.trim();
      const outside = await asKey(acmeAdmin, "export", "--tenant", "default");
      expect(outside.code).toBe(1);
      expect(outside.stderr).toContain(`tenant_id "default" is outside the scope of key ${acmeAdmin.split("_")[1]}`);
      const own = await asKey(acmeAdmin, "keys", "list");
      expect(own.code).toBe(0);
      expect(
        own.stdout
          .trim()
          .split("\n")
          .slice(1)
          .every((row) => row.split("\t")[1] === "acme"),
      ).toBe(true);

      const missing = await runCli(["keys", "list", "--server", server.baseUrl], { CHAUKAS_API_KEY: "" });
      expect([missing.code, missing.stderr.trim()]).toEqual([
        1,
        "chaukas: --server needs an admin key in CHAUKAS_API_KEY",
      ]);
    },
    SLOW,
  );

  it(
    "once the server has stopped, the same commands on the database answer the same",
    async () => {
      await server.stop();
      expect(existsSync(join(dataDir, "server.json"))).toBe(false);
      for (const command of commands.slice(1)) {
        const direct = await cli(...command);
        expect(comparable(direct), command.join(" ")).toEqual(
          comparable(throughServer.get(command.join(" ")) as CliResult),
        );
      }
      const created = await cli(...commands[0]);
      expect(comparable(created)).toEqual(comparable(throughServer.get("create") as CliResult));
    },
    SLOWER,
  );
});
