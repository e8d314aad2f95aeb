import type { BenchContext } from "./context.ts";
import { type IngestMode, type IngestResult, type IngestRuns, ingestPart } from "./ingest.ts";
import type { IngestCorpus } from "./ingest-corpus.ts";
import { percentile } from "./stats.ts";

export type AuditModes = Extract<IngestMode, "grpcBatch500" | "sdkBatch20">;
const MODES: AuditModes[] = ["grpcBatch500", "sdkBatch20"];

export interface AuditRounds {
  rounds: number;
  /** Each round's runs, in the order they ran: off, then on. */
  off: IngestRuns[];
  on: IngestRuns[];
}

/**
 * What the audit trail costs: the gRPC and SDK batch runs with `--disable-audit-trail` and without,
 * in alternating rounds (off, on, off, on, ...) so that drift in the machine's load or in
 * PostgreSQL's state falls on both alike; the targets compare the medians.
 */
export async function auditCostPart(ctx: BenchContext, corpus: IngestCorpus, rounds: number): Promise<AuditRounds> {
  const result: AuditRounds = { rounds, off: [], on: [] };
  for (let i = 0; i < rounds; i++) {
    for (const setting of ["off", "on"] as const) {
      result[setting].push(
        await ingestPart(ctx, corpus, {
          label: `postgres, audit ${setting} (round ${i + 1})`,
          serverFlags: setting === "off" ? ["--disable-audit-trail"] : [],
          modes: MODES,
        }),
      );
    }
  }
  return result;
}

/** The run of the median events/s (nearest rank) among a setting's rounds. */
export function medianRun(runs: readonly IngestRuns[], mode: AuditModes): IngestResult | undefined {
  const measured = runs.flatMap((r) => r[mode] ?? []);
  const rate = percentile(
    measured.map((r) => r.eventsPerSec),
    50,
  );
  return measured.find((r) => r.eventsPerSec === rate);
}
