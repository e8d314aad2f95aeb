import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { exitOf, killServerProcesses, type ServerProcess, startServerProcess } from "../kit/server-process.ts";

/**
 * Runs every shell example of README.md, docs/**\/*.md and bench/README.md as written, in document
 * order, against one server started as `npm start` does, on an embedded database in a temporary
 * directory that is also the examples' working directory (bench/README.md's run in the
 * repository: `npm run bench` is one of its scripts). The conventions (markers above a block, CHAUKAS_KEY, the
 * address, curl failing on an HTTP error) are stated in docs/development.md.
 */

const ROOT = join(import.meta.dirname, "..");
const NOT_RUN = /^<!-- not run: (.+) -->$/;
const SERVER_STOPPED = "<!-- run with the server stopped -->";
const DOCUMENTED_ADDRESS = "127.0.0.1:50051";
/** What the examples run besides `npx chaukas`: a Debian machine has them with `apt-get install curl jq openssl`. */
const TOOLS = ["bash", "curl", "jq", "openssl", "base64", "awk"];

interface Example {
  /** `file:line` of the opening fence. */
  where: string;
  code: string;
  notRun?: string;
  serverStopped: boolean;
}

function markdownFiles(): string[] {
  const docs = readdirSync(join(ROOT, "docs"), { recursive: true, encoding: "utf8" })
    .filter((path) => path.endsWith(".md"))
    .map((path) => join("docs", path))
    .sort();
  return ["README.md", ...docs, "bench/README.md"];
}

function examplesOf(file: string): Example[] {
  const lines = readFileSync(join(ROOT, file), "utf8").split("\n");
  const found: Example[] = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = /^```(sh|bash|console)\s*$/.exec(lines[i]);
    if (!fence) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !lines[i].startsWith("```"); i++) body.push(lines[i]);
    let above = start - 1;
    while (above >= 0 && lines[above].trim() === "") above--;
    const marker = above >= 0 ? lines[above].trim() : "";
    // A console block shows a session: its commands are the lines after the prompt.
    const code =
      fence[1] === "console"
        ? body
            .filter((line) => line.startsWith("$ "))
            .map((line) => line.slice(2))
            .join("\n")
        : body.join("\n");
    found.push({
      where: `${file}:${start + 1}`,
      code,
      notRun: NOT_RUN.exec(marker)?.[1],
      serverStopped: marker === SERVER_STOPPED,
    });
  }
  return found;
}

/** Runs a block as a script; asynchronously, so that the test server's output keeps flowing meanwhile. */
function runBash(
  code: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<{ status: number | null; output: string }> {
  const child = spawn("bash", ["-e", "-o", "pipefail", "-c", code], {
    cwd,
    env,
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 90_000,
  });
  let output = "";
  const collect = (chunk: Buffer) => {
    output += chunk;
  };
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  return new Promise((resolve) => child.once("close", (status) => resolve({ status, output })));
}

const examples = markdownFiles().flatMap(examplesOf);
const notRun = examples.filter((example) => example.notRun !== undefined);

describe("the shell examples of README.md and docs/", () => {
  const workDir = mkdtempSync(join(tmpdir(), "chaukas-docs-"));
  const dataDir = join(workDir, "data");
  let server: ServerProcess | undefined;
  let env: NodeJS.ProcessEnv = {};

  async function start(): Promise<ServerProcess> {
    // A short interval so that an event ingested by one example is in a signed checkpoint by the next.
    const started = await startServerProcess(["--data-dir", dataDir, "--checkpoint-interval-ms", "100"]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    return started;
  }

  async function stop(): Promise<void> {
    if (!server) return;
    const { child } = server;
    server = undefined;
    child.kill("SIGTERM");
    await exitOf(child);
  }

  beforeAll(async () => {
    const missing = TOOLS.filter((tool) => spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0);
    if (missing.length > 0) throw new Error(`the documentation's examples need ${missing.join(", ")} on PATH`);
    // `npx chaukas` resolves to the repository's CLI, never to the registry.
    mkdirSync(join(workDir, "node_modules", ".bin"), { recursive: true });
    const { bin } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
    symlinkSync(join(ROOT, bin.chaukas), join(workDir, "node_modules", ".bin", "chaukas"));
    symlinkSync(join(ROOT, "docs"), join(workDir, "docs"));
    const bashEnv = join(workDir, ".bash-env");
    writeFileSync(bashEnv, 'curl() { command curl --fail-with-body "$@"; }\n');
    server = await start();
    const { CHAUKAS_DATA_DIR: _, ...inherited } = process.env;
    env = {
      ...inherited,
      PATH: `${join(ROOT, "node_modules", ".bin")}:${process.env.PATH}`,
      BASH_ENV: bashEnv,
      CHAUKAS_KEY: readFileSync(join(dataDir, "admin-key"), "utf8").trim(),
      DATABASE_URL: "",
      npm_config_offline: "true",
      npm_config_update_notifier: "false",
    };
  });

  afterAll(async () => {
    await stop();
    killServerProcesses();
    rmSync(workDir, { recursive: true, force: true });
  });

  test("every block not run says why", () => {
    const list = notRun.map((example) => `  ${example.where}: ${example.notRun}`).join("\n");
    console.log(`${notRun.length} of ${examples.length} shell examples are not run:\n${list}`);
    for (const example of notRun) expect(example.notRun?.trim()).not.toBe("");
  });

  test.each(examples.filter((example) => example.notRun === undefined))(
    "$where runs as written",
    async (example) => {
      if (example.serverStopped) await stop();
      else server ??= await start();
      const address = new URL(server?.baseUrl ?? `http://${DOCUMENTED_ADDRESS}`).host;
      const cwd = example.where.startsWith("bench/") ? ROOT : workDir;
      const result = await runBash(example.code.replaceAll(DOCUMENTED_ADDRESS, address), cwd, env);
      expect(
        result.status,
        `${example.where} failed:\n${example.code}\n--- output (in ${cwd}):\n${result.output}`,
      ).toBe(0);
    },
    120_000,
  );
});
