import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { exitOf, killServerProcesses, MAIN, startServerProcess } from "../kit/server-process.ts";
import { SETTINGS } from "../src/config.ts";
import { runScript } from "./cli/run-cli.ts";

function rpc(baseUrl: string, method: string, body: unknown, key?: string): Promise<Response> {
  return fetch(`${baseUrl}/chaukas.spec.server.v1.ChaukasServerService/${method}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...(key ? { Authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify(body),
  });
}

test("--help lists every setting with its variable, and --version prints package.json's version", async () => {
  const help = await runScript(MAIN, ["--help"]);
  expect(help).toMatchObject({ code: 0, stderr: "" });
  // Descriptions as plain text: Markdown links and code spans are the README's.
  expect(help.stdout).not.toMatch(/`|\]\(/);
  const lines = help.stdout.split("\n");
  for (const setting of SETTINGS) {
    const at = lines.findIndex((line) => line.startsWith(`  --${setting.flag} `));
    expect(lines[at]).toMatch(`${setting.env}${setting.defaultValue ? ` (default ${setting.defaultValue})` : ""}`);
    // Then its description, from its first word.
    expect(lines[at + 1].startsWith(`      ${setting.description.replaceAll("`", "").split(" ")[0]} `)).toBe(true);
  }
  const { version } = JSON.parse(readFileSync(join(import.meta.dirname, "..", "package.json"), "utf8"));
  expect(await runScript(MAIN, ["--version"])).toEqual({ code: 0, stdout: `${version}\n`, stderr: "" });
});

describe("the server process (npm start)", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "chaukas-main-"));
  afterAll(() => {
    killServerProcesses();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("serves from an embedded database, locks its data directory, stops on SIGTERM, and keeps the data", async () => {
    const first = await startServerProcess(["--data-dir", dataDir]);
    // A fresh install is closed: its first admin key is printed once and kept owner-only.
    const key = readFileSync(join(dataDir, "admin-key"), "utf8").trim();
    expect(statSync(join(dataDir, "admin-key")).mode & 0o777).toBe(0o600);
    expect(first.output()).toContain(`\n${key}\n`);
    expect((await rpc(first.baseUrl, "QueryEvents", { query: { filter: { tenantId: "default" } } })).status).toBe(401);
    const event = {
      eventId: "e-main-1",
      tenantId: "default",
      projectId: "web",
      sessionId: "s1",
      type: "EVENT_TYPE_SESSION_START",
      timestamp: "2026-11-25T12:00:00.000000001Z",
    };
    const ingest = await rpc(first.baseUrl, "IngestEvent", { event }, key);
    expect(ingest.status).toBe(200);
    expect(await ingest.json()).toMatchObject({ eventId: "e-main-1", status: "accepted" });
    expect(existsSync(join(dataDir, "chaukas.lock"))).toBe(true);

    // A second process on the same data directory refuses to start, with a message saying why.
    const second = spawn(process.execPath, [MAIN, "--port", "0", "--data-dir", dataDir], {
      env: { ...process.env, DATABASE_URL: "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let secondOutput = "";
    second.stderr.on("data", (chunk) => {
      secondOutput += chunk;
    });
    expect(await exitOf(second)).toBe(1);
    expect(secondOutput).toContain(`the data directory ${dataDir} is in use by process ${first.child.pid}`);

    first.child.kill("SIGTERM");
    expect(await exitOf(first.child)).toBe(0);
    expect(first.output()).toContain("SIGTERM: finishing in-flight requests");
    expect(existsSync(join(dataDir, "chaukas.lock"))).toBe(false);

    // Restarted on the same directory: the event is still there.
    const third = await startServerProcess(["--data-dir", dataDir]);
    const query = await rpc(third.baseUrl, "QueryEvents", { query: { filter: { tenantId: "default" } } }, key);
    expect(third.output()).not.toContain("Created the first API key");
    const body = (await query.json()) as { response: { events: unknown[] } };
    // Its integrity fields are filled in: the clean stop signed the checkpoint that includes it.
    expect(body.response.events).toEqual([
      { ...event, contentHash: expect.stringMatching(/^[0-9a-f]{64}$/), wormProofId: "checkpoint/1" },
    ]);
    third.child.kill("SIGINT");
    expect(await exitOf(third.child)).toBe(0);
  });

  test("--insecure-no-auth serves without keys on loopback only, with a warning", async () => {
    const open = await startServerProcess(["--data-dir", join(dataDir, "insecure"), "--insecure-no-auth"]);
    expect(open.output()).toContain("--insecure-no-auth: anyone who can reach this port");
    const caps = await rpc(open.baseUrl, "GetCapabilities", {});
    expect(await caps.json()).toEqual({
      capabilities: { auditProofs: true, policyDecisions: true, dataAccessEvents: true },
    });
    open.child.kill("SIGTERM");
    await exitOf(open.child);

    const exposed = spawn(process.execPath, [MAIN, "--port", "0", "--insecure-no-auth", "--host", "0.0.0.0"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    exposed.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    expect(await exitOf(exposed)).toBe(1);
    expect(stderr).toContain("refusing to serve 0.0.0.0 without keys");
  });

  test("refuses bad configuration with a clear message", async () => {
    const child = spawn(process.execPath, [MAIN, "--port", "not-a-port"], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    expect(await exitOf(child)).toBe(1);
    expect(stderr).toContain('--port/CHAUKAS_PORT must be a port number, got "not-a-port"');
  });
});
