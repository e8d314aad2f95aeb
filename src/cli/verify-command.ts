import { readFileSync } from "node:fs";
import { logOrigin } from "../core/audit/audit-trail.ts";
import { CheckpointError, noteOfFile } from "../core/audit/checkpoint.ts";
import { checkpointSize, keyName } from "../core/audit/database-verification.ts";
import { type EntryToVerify, LogVerifier, type VerificationOutcome } from "../core/audit/log-verifier.ts";
import { contentHashFromJson } from "../core/event-record.ts";
import { purgeMarkOf, purgeSummaryOf } from "../core/retention/purge-record.ts";
import { asBuffer } from "../lib/bytes.ts";
import { checkReadable } from "./named-files.ts";
import { readSdkFile } from "./sdk-file.ts";

/**
 * Checks an export file (`chaukas export`) against a signed checkpoint, with no database: each
 * event is re-hashed from its canonical encoding, the entries are put in log order by following
 * hash_prev from the first, and the root of the first `size` entries must be the one signed.
 */
export async function verifyExport(
  file: string,
  checkpointNote: string,
  verifierKey: string | readonly string[],
  tenantId: string,
): Promise<LogVerifier> {
  const verifier = new LogVerifier(logOrigin(keyName(verifierKey), tenantId), verifierKey);
  const byPrevious = new Map<string, EntryToVerify>();
  for await (const line of readSdkFile(file).lines) {
    if ("problem" in line) {
      verifier.report({ problem: `line ${line.lineNumber} is not an event: ${line.problem}` });
      continue;
    }
    const { event, lineNumber } = line;
    if (event.tenantId !== tenantId) continue;
    const actualContentHash = contentHashFromJson(event);
    const entry: EntryToVerify = {
      eventId: event.eventId,
      contentHash: Buffer.from(event.contentHash, "hex"),
      hashPrev: Buffer.from(event.hashPrev, "hex"),
      actualContentHash,
      purgedBy: purgeMarkOf(event)?.recordId,
      purgeRecord:
        asBuffer(actualContentHash).toString("hex") === event.contentHash ? purgeSummaryOf(event) : undefined,
    };
    if (event.contentHash === "") {
      verifier.report({
        eventId: event.eventId,
        problem: `line ${lineNumber}: event ${event.eventId} has no content_hash: it is not in the log`,
      });
    } else if (byPrevious.has(event.hashPrev)) {
      verifier.report({
        eventId: event.eventId,
        problem: `line ${lineNumber}: a second event claims hash_prev ${event.hashPrev || "(empty)"}: the chain forks`,
      });
    } else {
      byPrevious.set(event.hashPrev, entry);
    }
  }
  const { size } = checkpointSize(checkpointNote);
  verifier.expectCheckpoints([{ size, note: checkpointNote }]);
  // The log order is the hash chain: the first entry has no predecessor, each next names the last.
  let previous = "";
  for (let entry = byPrevious.get(previous); entry; entry = byPrevious.get(previous)) {
    byPrevious.delete(previous);
    verifier.add(entry);
    previous = Buffer.from(entry.contentHash).toString("hex");
  }
  verifier.finish();
  for (const entry of byPrevious.values()) {
    verifier.report({
      eventId: entry.eventId,
      problem: `event ${entry.eventId} is not reachable along the hash chain from the first entry`,
    });
  }
  return verifier;
}

/** The tenant a checkpoint is of: the last part of its origin, `<log name>/<tenant, percent-encoded>`. */
export function tenantOfCheckpoint(note: string): string {
  const origin = note.split("\n")[0];
  try {
    return decodeURIComponent(origin.slice(origin.lastIndexOf("/") + 1));
  } catch {
    throw new CheckpointError(`the checkpoint's origin "${origin}" does not end in a percent-encoded tenant`);
  }
}

/** Prints the outcome; returns the exit code (0: the log verifies). */
export function printVerification(verifier: VerificationOutcome, print: (line: string) => void): number {
  const code = printOutcome(verifier, print);
  for (const purge of verifier.purges) print(`purge: ${purge}`);
  for (const warning of verifier.warnings) print(`warning: ${warning}`);
  for (const note of verifier.notes) print(`note: ${note}`);
  return code;
}

/** A checkpoint note saved to a file (see noteOfFile). */
export function readCheckpointFile(path: string): string {
  checkReadable(path);
  return noteOfFile(readFileSync(path, "utf8"));
}

function printOutcome(verifier: VerificationOutcome, print: (line: string) => void): number {
  if (verifier.findingCount === 0) {
    print(
      `OK: ${verifier.size} entries, root ${Buffer.from(verifier.rootHash).toString("base64")}; ` +
        `${verifier.checkpointsVerified} signed checkpoint(s) verify`,
    );
    return 0;
  }
  print(`FAILED: ${verifier.findingCount} problem(s) in ${verifier.size} entries; the first divergence comes first`);
  for (const finding of verifier.findings) {
    const where = finding.position === undefined ? "" : `position ${finding.position}: `;
    print(`  ${where}${finding.problem}`);
  }
  if (verifier.findingCount > verifier.findings.length) {
    print(`  ... and ${verifier.findingCount - verifier.findings.length} more`);
  }
  return 1;
}
