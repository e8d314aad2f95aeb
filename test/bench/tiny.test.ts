import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, describe, expect, test } from "vitest";
import { ADMIN_URL, postgresReachable } from "../support/databases.ts";

const RUN = join(import.meta.dirname, "..", "..", "bench", "run.ts");

// The bench measures against PostgreSQL: without one it cannot run (CI always has one).
const reachable = await postgresReachable();
if (!reachable && process.env.CI) throw new Error(`PostgreSQL is not reachable at ${ADMIN_URL}, and CI requires it`);

describe.skipIf(!reachable)("npm run bench -- --tiny", () => {
  const dir = mkdtempSync(join(tmpdir(), "chaukas-bench-test-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** `node bench/run.ts ARGS`: its exit code and everything it printed. */
  const runBench = async (args: string[]) => {
    const child = spawn(process.execPath, [RUN, ...args], {
      env: { ...process.env, DATABASE_URL: ADMIN_URL },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => {
      output += chunk;
    });
    child.stderr.on("data", (chunk) => {
      output += chunk;
    });
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    return { code, output };
  };

  test("runs every part with small numbers, exits 0 and writes every section (no timing asserted)", async () => {
    const out = join(dir, "tiny.json");
    const { code, output } = await runBench(["--tiny", "--out", out]);
    expect(code, output).toBe(0);

    const report = JSON.parse(readFileSync(out, "utf8"));
    expect(report.tiny).toBe(true);
    expect(report.machine).toMatchObject({ nproc: expect.any(Number), postgres: expect.any(String) });
    expect(report.corpus.events).toBeGreaterThan(0);
    for (const part of ["staged1", "staged2", "raw", "serverSql"]) {
      expect(report.ceiling[part].eventsPerSec, part).toBeGreaterThan(0);
    }
    for (const store of ["ingest", "embedded"]) {
      for (const mode of ["grpcBatch500", "sdkBatch20", "singleEvent"]) {
        const run = report[store][mode];
        expect(run.events, `${store}.${mode}`).toBeGreaterThan(0);
        expect(run.eventsPerSec, `${store}.${mode}`).toBeGreaterThan(0);
        expect(run.p99Ms, `${store}.${mode}`).toBeGreaterThan(0);
        expect(run.peakRssMb, `${store}.${mode}`).toBeGreaterThan(0);
      }
    }
    expect(report.ingest.grpcBatch500.ratioToCopyCeiling).toBeGreaterThan(0);
    // Audit off and on in alternating rounds (one when tiny), each with both batch modes.
    expect(report.audit.rounds).toBe(1);
    for (const setting of ["off", "on"]) {
      expect(report.audit[setting]).toHaveLength(1);
      for (const mode of ["grpcBatch500", "sdkBatch20"]) {
        expect(report.audit[setting][0][mode].eventsPerSec, `audit ${setting}: ${mode}`).toBeGreaterThan(0);
      }
    }
    for (const kind of [
      "sessionTimeline",
      "sessionTimelineDecoded",
      "trace",
      "typeAndTime",
      "textRare",
      "textCommon",
      "deepPage",
      "statsDay",
      "statsMonth",
      "statsAll",
    ]) {
      expect(report.query.results[kind].count, kind).toBeGreaterThan(0);
      // Each measured row has its CPU per call, the server's and PostgreSQL's (a few calls may use
      // less than a tick); the connect-es reference row is not measured for CPU.
      if (kind === "sessionTimelineDecoded") continue;
      expect(report.query.results[kind].serverCpuUsPerCall, kind).toBeGreaterThanOrEqual(0);
      expect(report.query.results[kind].postgresCpuUsPerCall, kind).toBeGreaterThanOrEqual(0);
    }
    // The raw query client counts events (the bench checks them against connect-es's) and follows page tokens.
    expect(report.query.results.sessionTimeline.rowsP50).toBeGreaterThan(0);
    expect(report.query.results.deepPage.count).toBe(5);
    for (const kind of [
      "serverGet",
      "serverReadyz",
      "serverConnect",
      "serverGrpc",
      "stackGet",
      "stackConnect",
      "stackGrpc",
      "fastifyGrpc",
      "http2Grpc",
    ]) {
      expect(report.frameworkTax[kind].requestsPerSec, kind).toBeGreaterThan(0);
    }
    // Every tail received the paced events (their timing is the bench's to report, not this test's).
    expect(report.tail.ingestWithTails).toBeGreaterThan(0);
    expect(report.tail.paced.deliveries).toBeGreaterThan(0);
    expect(report.otlp.otlpHttp.spansPerSec).toBeGreaterThan(0);
    expect(report.otlp.ratioToGrpcBatch).toBeGreaterThan(0);
    // The embedded store's memory at a first start and a reopen, and its queries.
    for (const figure of ["firstStartPeakMb", "firstStartRestMb", "reopenPeakMb", "reopenRestMb"]) {
      expect(report.embeddedStart[figure], figure).toBeGreaterThan(0);
    }
    expect(report.embeddedQuery.results.sessionTimeline.count).toBeGreaterThan(0);
    expect(report.embeddedQuery.results.statsAll.count).toBeGreaterThan(0);
    // PGlite runs in the server: its CPU is the server's, and there are no backends to read.
    expect(report.embeddedQuery.results.sessionTimeline.serverCpuUsPerCall).toBeGreaterThanOrEqual(0);
    expect(report.embeddedQuery.results.sessionTimeline.postgresCpuUsPerCall).toBeUndefined();
    expect(report.targets.map((t: { target: string }) => t.target)).toHaveLength(21);
    // The same figures as a Markdown table beside the JSON.
    expect(readFileSync(join(dir, "tiny.md"), "utf8")).toMatch(/^\| measurement +\|/);
    // The bench dropped its database.
    const client = new pg.Client({ connectionString: ADMIN_URL });
    await client.connect();
    const { rows } = await client.query("SELECT datname FROM pg_database WHERE datname LIKE 'chaukas_bench_%'");
    await client.end();
    const name = /database (chaukas_bench_\w+) created/.exec(output)?.[1];
    expect(rows.map((r) => r.datname)).not.toContain(name);
  }, 240_000);

  test("soaks each store for seconds: the server's RSS, and the embedded store's write-ahead log", async () => {
    const out = join(dir, "soaks.json");
    const { code, output } = await runBench(["--tiny", "--only", "soak,embedded-soak", "--out", out]);
    expect(code, output).toBe(0);
    const report = JSON.parse(readFileSync(out, "utf8"));
    expect(report.soak).toMatchObject({ store: "postgres", events: expect.any(Number) });
    expect(report.soak.events).toBeGreaterThan(0);
    expect(report.soak.samples.at(-1).rssMb).toBeGreaterThan(0);
    expect(report.soak.samples.at(-1).walMb).toBeUndefined();
    expect(report.embeddedSoak.store).toBe("embedded");
    expect(report.embeddedSoak.events).toBeGreaterThan(0);
    const last = report.embeddedSoak.samples.at(-1);
    expect(last.walMb).toBeGreaterThan(0);
    const judged = report.targets.map((t: { target: string }) => t.target);
    expect(judged).toEqual(
      expect.arrayContaining([expect.stringMatching(/^embedded write-ahead log flat under sustained load/)]),
    );
  }, 120_000);
});
