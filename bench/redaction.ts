import { UNRESTRICTED } from "../src/core/access.ts";
import { Redactions } from "../src/core/redaction/redactions.ts";
import type { RedactionRules } from "../src/core/redaction/rules.ts";
import { openDatabase } from "../src/store/sql/open-store.ts";
import { type BenchContext, startServer } from "./context.ts";
import type { BenchDatabase } from "./database.ts";
import { type IngestResult, measureIngest } from "./ingest.ts";
import type { IngestCorpus } from "./ingest-corpus.ts";
import { grpcBatches, runGrpcBatches } from "./load.ts";
import { log } from "./log.ts";
import { percentile, round, thousands } from "./stats.ts";

/** Every detector off: ingest as it would be with no redaction at all. */
const OFF: Partial<RedactionRules> = {
  detectors: Object.fromEntries(
    ["private_key", "jwt", "aws_access_key", "api_key", "card_number", "iban", "email", "phone"].map((d) => [d, "off"]),
  ),
};

/** A realistic rule set: the credential defaults, personal data on (each method), two field rules. */
const ON: Partial<RedactionRules> = {
  detectors: { email: "hash", phone: "mask", card_number: "mask", iban: "drop" },
  fields: [
    { path: "metadata.user_email", method: "hash" },
    { path: "content.arguments.password", method: "drop" },
  ],
};

export interface RedactionResult {
  rounds: number;
  off: IngestResult[];
  on: IngestResult[];
  /** Medians over the rounds. */
  offEventsPerSec: number;
  onEventsPerSec: number;
  offServerCpuUsPerEvent: number;
  onServerCpuUsPerEvent: number;
  /** How much slower ingest is with the rules on: by throughput, and by the server's CPU per event. */
  slowdown: number;
  cpuPerEventIncrease: number;
}

/**
 * gRPC batches of 500 with redaction off (every detector off) and on (a realistic rule set), in
 * alternating runs (off, on, off, on, ...) so that the machine's other load falls on both alike;
 * a fresh server per run, the rules set for every tenant of the corpus before it starts.
 */
export async function redactionPart(ctx: BenchContext, corpus: IngestCorpus, rounds = 3): Promise<RedactionResult> {
  const { o, db } = ctx;
  const tenants = [...new Set(corpus.events.map((e) => e.tenantId))];
  const requests = grpcBatches(corpus.events, o.grpcBatch, o.seed);
  const warm = grpcBatches(corpus.warm, o.grpcBatch, o.seed + 1);
  const runs: Record<"off" | "on", IngestResult[]> = { off: [], on: [] };
  for (let i = 0; i < rounds; i++) {
    for (const setting of ["off", "on"] as const) {
      await setRules(db.url, tenants, setting === "on" ? ON : OFF);
      const server = await startServer(ctx, `redaction-${setting}-${i}`, { databaseUrl: db.url });
      try {
        await runGrpcBatches(server.baseUrl, warm, o.grpcConnections, o.grpcStreams);
        const what = `gRPC IngestEventBatch, ${o.grpcBatch} events, redaction ${setting}`;
        const r = await measureIngest(what, server, db, () =>
          runGrpcBatches(server.baseUrl, requests, o.grpcConnections, o.grpcStreams),
        );
        runs[setting].push(r);
        log(
          `redaction ${setting} (round ${i + 1}): ${thousands(r.eventsPerSec)} events/s, server ${usPerEvent(r)} µs CPU/event, ${await hashedEmails(db)} events with a hashed e-mail address`,
        );
      } finally {
        await server.stop();
      }
    }
  }
  // Medians over an odd number of rounds (nearest rank).
  const offRate = percentile(
    runs.off.map((r) => r.eventsPerSec),
    50,
  );
  const onRate = percentile(
    runs.on.map((r) => r.eventsPerSec),
    50,
  );
  const offCpu = percentile(runs.off.map(usPerEvent), 50);
  const onCpu = percentile(runs.on.map(usPerEvent), 50);
  return {
    rounds,
    ...runs,
    offEventsPerSec: offRate,
    onEventsPerSec: onRate,
    offServerCpuUsPerEvent: offCpu,
    onServerCpuUsPerEvent: onCpu,
    slowdown: round(offRate / onRate - 1, 3),
    cpuPerEventIncrease: round(onCpu / offCpu - 1, 3),
  };
}

async function setRules(databaseUrl: string, tenants: string[], rules: Partial<RedactionRules>): Promise<void> {
  const store = await openDatabase({ kind: "postgres", databaseUrl, poolSize: 1 }, { info: () => {}, error: () => {} });
  try {
    const redactions = new Redactions(store.redaction);
    for (const tenant of tenants) await redactions.setRules(UNRESTRICTED, tenant, rules);
  } finally {
    await store.close();
  }
}

/** Stored events the rules changed (their e-mail addresses hashed): none with redaction off. */
async function hashedEmails(db: BenchDatabase): Promise<number> {
  // As the role that sees every tenant's rows (the events table's row-level security).
  await db.admin.query("SET ROLE chaukas_all_tenants");
  try {
    const { rows } = await db.admin.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM events WHERE position(convert_to('[email:', 'UTF8') IN payload) > 0",
    );
    return rows[0].n;
  } finally {
    await db.admin.query("RESET ROLE");
  }
}

function usPerEvent(r: IngestResult): number {
  return round((r.serverCpuSeconds / r.events) * 1e6, 1);
}
