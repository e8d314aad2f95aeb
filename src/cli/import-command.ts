import { createReadStream, statSync } from "node:fs";
import { createInterface } from "node:readline";
import type { Event } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import { UNRESTRICTED } from "../domain/access.ts";
import { eventViolations } from "../domain/event-rules.ts";
import type { EventService } from "../domain/event-service.ts";
import { parseSdkLine } from "../domain/formats/sdk-jsonl.ts";
import { Progress } from "./progress.ts";

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
  const input = createReadStream(file);
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  const progress = new Progress(`importing ${file}`);
  let lineNumber = 0;
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
    lineNumber++;
    if (line.trim() === "") continue;
    let event: Event;
    try {
      event = parseSdkLine(line);
    } catch (err) {
      badLines++;
      report(`line ${lineNumber}: ${(err as Error).message}`);
      continue;
    }
    const violations = eventViolations(event, "");
    if (violations.length > 0) {
      badLines++;
      report(`line ${lineNumber}: ${violations.map((v) => `${v.field}: ${v.description}`).join("; ")}`);
      continue;
    }
    batch.push(event);
    if (batch.length >= BATCH_SIZE) await flush();
  }
  await flush();
  progress.done();
  return { lines: lineNumber, accepted, badLines, seconds: progress.elapsedSeconds() };
}
