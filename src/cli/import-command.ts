import { statSync } from "node:fs";
import type { Event } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import { eventViolations } from "../core/event-rules.ts";
import type { AdminBackend } from "./admin-backend.ts";
import { Progress } from "./progress.ts";
import { readSdkFile } from "./sdk-file.ts";

const BATCH_SIZE = 1000;
/** Of file text per batch at most, so a batch sent to a server stays well under its 4 MB request limit. */
const BATCH_BYTES = 1024 * 1024;

export interface ImportSummary {
  lines: number;
  accepted: number;
  badLines: number;
  seconds: number;
}

/**
 * Streams a JSON Lines file of events (the Python SDK's file mode) into the store, in batches, in
 * constant memory. A bad line is reported by its number and skipped; importing a file twice
 * stores nothing new (ingest is idempotent per tenant and event id).
 */
export async function importJsonl(
  file: string,
  admin: AdminBackend,
  report: (line: string) => void,
): Promise<ImportSummary> {
  const totalBytes = statSync(file).size;
  const { input, lines } = readSdkFile(file);
  const progress = new Progress(`importing ${file}`);
  let lastLine = 0;
  let accepted = 0;
  let badLines = 0;
  let batch: Event[] = [];
  let batchStart = 0;

  const flush = async () => {
    if (batch.length === 0) return;
    accepted += await admin.importEvents(batch);
    batch = [];
    batchStart = input.bytesRead;
    progress.update(accepted, totalBytes > 0 ? input.bytesRead / totalBytes : undefined);
  };

  for await (const line of lines) {
    lastLine = line.lineNumber;
    const problem =
      "problem" in line
        ? line.problem
        : eventViolations(line.event, "")
            .map((v) => `${v.field}: ${v.description}`)
            .join("; ");
    if (problem) {
      badLines++;
      report(`line ${line.lineNumber}: ${problem}`);
      continue;
    }
    if ("event" in line) batch.push(line.event);
    if (batch.length >= BATCH_SIZE || input.bytesRead - batchStart >= BATCH_BYTES) await flush();
  }
  await flush();
  await admin.finishImport();
  progress.done();
  return { lines: lastLine, accepted, badLines, seconds: progress.elapsedSeconds() };
}
