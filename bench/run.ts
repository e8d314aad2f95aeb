/**
 * npm run bench [-- flags]: how fast the server ingests and answers, next to what PostgreSQL itself
 * can do on the same machine in the same run. See bench/README.md and `npm run bench -- --help`.
 * This file only sequences the parts; each is in a file of its own.
 */

import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { killServerProcesses } from "../kit/server-process.ts";
import { openDatabase } from "../src/store/sql/open-store.ts";
import { auditCostPart } from "./audit-cost.ts";
import { burstTable, measureBurst } from "./burst.ts";
import { ceilingPart } from "./ceiling.ts";
import type { BenchContext } from "./context.ts";
import { BenchDatabase } from "./database.ts";
import { embeddedQueryPart, startMemory } from "./embedded-memory.ts";
import { ingestPart } from "./ingest.ts";
import { ingestCorpus } from "./ingest-corpus.ts";
import { elapsedSeconds, log } from "./log.ts";
import { machineInfo } from "./machine.ts";
import { type Options, parseOptions, USAGE } from "./options.ts";
import { otlpPart } from "./otlp.ts";
import { queryPart } from "./query-part.ts";
import { redactionPart } from "./redaction.ts";
import { type Figures, type Report, render } from "./report.ts";
import { soakPart } from "./soak.ts";
import { prettyJson, round, thousands } from "./stats.ts";
import { tailPart } from "./tail.ts";
import { judge } from "./targets.ts";
import { taxPart } from "./tax.ts";

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  if (o.help) return console.log(USAGE);
  if (o.render) {
    // Only the tables again, from an earlier run's JSON, its targets judged by this version.
    const figures: Figures = JSON.parse(readFileSync(o.render, "utf8"));
    render({ ...figures, targets: judge(figures) }, o.render);
    return;
  }
  const startedAt = new Date().toISOString();
  const machine = await machineInfo(o.databaseUrl);
  log(
    `${machine.nproc} cores, ${machine.memoryGiB} GiB, PostgreSQL ${machine.postgres}, Node ${machine.node}, load average ${machine.loadAverageAtStart.join(" ")}`,
  );
  const tmp = mkdtempSync(join(os.tmpdir(), "chaukas-bench-"));
  const db = o.reuseDb ? await BenchDatabase.open(o.databaseUrl, o.reuseDb) : await BenchDatabase.create(o.databaseUrl);
  log(`database ${db.name} ${o.reuseDb ? "reused" : "created"}`);
  const ctx: BenchContext = { o, db, tmp };
  let interrupted = false;
  const cleanup = async () => {
    killServerProcesses();
    if (o.reuseDb || (o.keepDb && !interrupted)) {
      await db.keep();
      log(`kept the database: ${db.url}`);
    } else {
      await db.drop().catch((err) => log(`could not drop ${db.name}: ${err.message}`));
    }
    rmSync(tmp, { recursive: true, force: true });
  };
  const onSignal = () => {
    if (interrupted) return;
    interrupted = true;
    log("interrupted: stopping servers and dropping the database");
    void cleanup().finally(() => process.exit(130));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  let figures: Figures;
  try {
    figures = await measure(ctx, { startedAt, machine });
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    if (!interrupted) await cleanup();
  }
  if (interrupted) return;
  const report: Report = { ...figures, targets: judge(figures) };
  mkdirSync(dirname(o.out), { recursive: true });
  writeFileSync(o.out, `${prettyJson(report)}\n`);
  render(report, o.out);
  log(`wrote ${o.out}`);
}

/**
 * Runs the parts `--only` chose, one after the other: first those that send the corpus, then, with
 * the corpus no longer held, those that do not use it
 * (docs/adr/0047-bench-queries-after-the-corpus-is-released.md).
 */
async function measure(ctx: BenchContext, run: Pick<Figures, "startedAt" | "machine">): Promise<Figures> {
  const { o, db } = ctx;
  // Migrations, with their progress in the bench's log.
  const store = await openDatabase(
    { kind: "postgres", databaseUrl: db.url, poolSize: 1 },
    { info: (m) => log(m), error: (_, m) => log(m) },
  );
  await store.close();

  const { figures: f, embeddedDataDir } = await sendingParts(ctx, run);
  if (o.parts.has("burst")) {
    f.burst = await measureBurst({
      requests: o.tiny ? 20 : 300,
      bodyBytes: o.tiny ? 500_000 : 3_900_000,
      stores: ["embedded", "postgres"],
      keys: ["none", "valid"],
      databaseUrl: o.databaseUrl,
      serverLogLevel: o.serverLogLevel,
      serverFlags: [],
    });
    console.log(burstTable(f.burst));
  }
  if (o.parts.has("tax")) f.frameworkTax = await taxPart(ctx);
  if (o.parts.has("query")) f.query = await queryPart(ctx);
  if (embeddedDataDir) f.embeddedQuery = await embeddedQueryPart(ctx, embeddedDataDir());

  f.seconds = round(elapsedSeconds(), 1);
  f.machine = { ...f.machine, loadAverageAtEnd: os.loadavg().map((n) => round(n, 2)) };
  return f;
}

/**
 * The parts that send the corpus. Only this function holds it, so that it can be collected when
 * the function returns: about 200 MB of objects that each of the bench's full collections would
 * otherwise mark, on the cores the server's answers are timed on.
 */
async function sendingParts(
  ctx: BenchContext,
  run: Pick<Figures, "startedAt" | "machine">,
): Promise<{ figures: Figures; embeddedDataDir?: () => string }> {
  const { o } = ctx;
  log(`corpus: generating ${thousands(o.ingestEvents)} events (seed ${o.seed})`);
  const corpus = ingestCorpus(o);
  log(`corpus: ${JSON.stringify(corpus.summary)}`);
  const f: Figures = {
    startedAt: run.startedAt,
    command: command(),
    tiny: o.tiny,
    seconds: 0,
    machine: run.machine,
    options: reportedOptions(o),
    corpus: corpus.summary,
  };

  if (o.parts.has("ceiling")) f.ceiling = await ceilingPart(ctx, corpus);
  if (o.parts.has("ingest")) {
    f.ingest = await ingestPart(ctx, corpus, { label: "postgres" });
    const ceiling = f.ceiling?.eventsPerSec;
    if (ceiling) for (const r of Object.values(f.ingest)) r.ratioToCopyCeiling = round(r.eventsPerSec / ceiling, 3);
  }
  if (o.parts.has("otlp")) {
    f.otlp = await otlpPart(ctx, corpus, f.ingest?.grpcBatch500);
    const ceiling = f.ceiling?.eventsPerSec;
    if (ceiling) f.otlp.otlpHttp.ratioToCopyCeiling = round(f.otlp.otlpHttp.eventsPerSec / ceiling, 3);
  }
  if (o.parts.has("audit")) f.audit = await auditCostPart(ctx, corpus, o.tiny ? 1 : 3);
  if (o.parts.has("tail")) f.tail = await tailPart(ctx, corpus);
  if (o.parts.has("soak")) f.soak = await soakPart(ctx, corpus, "postgres");
  if (o.parts.has("embedded-soak")) f.embeddedSoak = await soakPart(ctx, corpus, "embedded");
  if (o.parts.has("redaction")) f.redaction = await redactionPart(ctx, corpus);
  if (!o.parts.has("embedded")) return { figures: f };
  const { dataDir, firstStart } = await embeddedDataDirs(ctx);
  const reopen = await startMemory(ctx, "embedded-reopen", dataDir());
  f.embeddedStart = {
    firstStartPeakMb: firstStart.peakMb,
    firstStartRestMb: firstStart.restMb,
    reopenPeakMb: reopen.peakMb,
    reopenRestMb: reopen.restMb,
    restSeconds: firstStart.restSeconds,
  };
  f.embedded = await ingestPart(ctx, corpus, { label: "embedded", embedded: { dataDir } });
  return { figures: f, embeddedDataDir: dataDir };
}

/**
 * A server's first start on a fresh data directory (its memory measured), then a copy of that
 * directory for each run.
 */
async function embeddedDataDirs(
  ctx: BenchContext,
): Promise<{ dataDir: () => string; firstStart: Awaited<ReturnType<typeof startMemory>> }> {
  const template = join(ctx.tmp, "pglite-template");
  log("embedded: a first start on a fresh data directory");
  const firstStart = await startMemory(ctx, "embedded-first-start", template);
  let n = 0;
  const dataDir = () => {
    const dir = join(ctx.tmp, `pglite-${n++}`);
    cpSync(template, dir, { recursive: true });
    return dir;
  };
  return { dataDir, firstStart };
}

function command(): string {
  return `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`;
}

function reportedOptions(o: Options): Figures["options"] {
  return {
    queryEvents: o.queryEvents,
    ingestEvents: o.ingestEvents,
    singleEvents: o.singleEvents,
    embeddedEvents: o.embeddedEvents,
    embeddedSingleEvents: o.embeddedSingleEvents,
    grpcConnections: o.grpcConnections,
    grpcStreams: o.grpcStreams,
    singleStreams: o.singleStreams,
    sdkClients: o.sdkClients,
    copyChunk: o.copyChunk,
    serverLogLevel: o.serverLogLevel,
  };
}

main().catch((err) => {
  console.error(`bench: ${err?.stack ?? err}`);
  killServerProcesses();
  process.exit(1);
});
