import { statSync } from "node:fs";
import type { Event } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import { UNRESTRICTED } from "../core/access.ts";
import { eventViolations } from "../core/event-rules.ts";
import type { EventService } from "../core/event-service.ts";
import { Progress } from "./progress.ts";
import { readSdkFile } from "./sdk-file.ts";

const BATCH_SIZE = 1000;

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
  events: EventService,
  report: (line: string) => void,
): Promise<ImportSummary> {
  const totalBytes = statSync(file).size;
  const { input, lines } = readSdkFile(file);
  const progress = new Progress(`importing ${file}`);
  let lastLine = 0;
  let accepted = 0;
  let badLines = 0;
  let batch: Event[] = [];

  const flush = async () => {
    if (batch.length === 0) return;
    // The local CLI acts for every tenant: it has the database itself, not a key.
    const outcome = await events.ingestBatch(UNRESTRICTED, batch);
    accepted += outcome.acceptedCount;
    batch = [];
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
    if (batch.length >= BATCH_SIZE) await flush();
  }
  await flush();
  progress.done();
  return { lines: lastLine, accepted, badLines, seconds: progress.elapsedSeconds() };
}
