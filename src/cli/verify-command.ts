import { readFileSync } from "node:fs";
import { fromBinary } from "@bufbuild/protobuf";
import { EventSchema } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import { logOrigin } from "../core/audit/audit-trail.ts";
import { CheckpointError, noteOfFile, parseVerifierKey } from "../core/audit/checkpoint.ts";
import { type EntryToVerify, LogVerifier, type PurgeFound } from "../core/audit/log-verifier.ts";
import { contentHashFromJson, storedEventRecord } from "../core/event-record.ts";
import { PURGE_RECORD_PREFIX, purgeMarkOf, purgeSummaryOf } from "../core/retention/purge-record.ts";
import { asBuffer, sha256 } from "../lib/bytes.ts";
import { type AuditLog, type LogEntry, STORED_NODE_MIN_LEVEL } from "../store/audit-log.ts";
import type { Database } from "../store/database.ts";
import type { EventRecord } from "../store/event-store.ts";
import { ALL_TENANTS } from "../store/tenant-scope.ts";
import { Progress } from "./progress.ts";
import { readSdkFile } from "./sdk-file.ts";

const PAGE_SIZE = 2000;
/** Events stored without a leaf that are named one by one; past this only their count is told. */
const OUTSIDE_LOG_SHOWN = 100;
/** A column value longer than this is cut short in a finding. */
const SHOWN_VALUE_CHARS = 120;

/**
 * Recomputes a tenant's whole log from the database (its checkpoints signed by `verifierKey`, or by
 * any key of a set): every leaf against its stored event, each
 * event's index columns against its payload, the hash chain, every signed checkpoint against the
 * root the leaves give at its size, and the database's write-once and isolation safeguards.
 * `savedNote`, a checkpoint note kept from earlier, must be signed by the key and have its root
 * at its size in the log as it is now, so a log cut back to an earlier state is caught. Streams
 * page by page, so memory stays flat whatever the log's length.
 */
export async function verifyDatabase(
  store: Database,
  tenantId: string,
  verifierKey: string | readonly string[],
  savedNote?: string,
): Promise<LogVerifier> {
  const { audit } = store;
  const origin = logOrigin(keyName(verifierKey), tenantId);
  const verifier = new LogVerifier(origin, verifierKey, STORED_NODE_MIN_LEVEL);
  for (const problem of await store.missingSafeguards()) verifier.report({ problem });
  if (savedNote !== undefined) {
    const { size } = checkpointSize(savedNote);
    verifier.expectCheckpoints([{ size, note: savedNote, label: `the saved checkpoint (size ${size})` }]);
  }
  const head = await audit.head(ALL_TENANTS, tenantId);
  const total = Number(head?.size ?? 0n);
  const progress = new Progress(`verifying tenant ${tenantId}`);
  let nextCheckpoint = 0n;
  let checkpointsExhausted = false;
  let signedSize = 0n;
  let from = 0n;
  for (;;) {
    const entries = await audit.entries(ALL_TENANTS, tenantId, from, PAGE_SIZE);
    const last = entries.at(-1)?.position ?? from;
    // Checkpoints up to the end of this page, fetched as the walk reaches them.
    while (!checkpointsExhausted && nextCheckpoint <= last + 1n) {
      const page = await audit.checkpoints(ALL_TENANTS, tenantId, nextCheckpoint, PAGE_SIZE);
      verifier.expectCheckpoints(page);
      signedSize = page.at(-1)?.size ?? signedSize;
      if (page.length < PAGE_SIZE) checkpointsExhausted = true;
      else nextCheckpoint = signedSize + 1n;
    }
    const intact: EventRecord[] = [];
    for (const entry of entries) {
      const actualContentHash = entry.payload && sha256(entry.payload);
      const isIntact = entry.payload && actualContentHash && asBuffer(actualContentHash).equals(entry.contentHash);
      const purgeRecord =
        isIntact && entry.payload && entry.eventId.startsWith(PURGE_RECORD_PREFIX)
          ? purgeSummaryOf(fromBinary(EventSchema, entry.payload))
          : undefined;
      verifier.add({ ...entry, actualContentHash, purgeRecord });
      if (isIntact && entry.payload) intact.push(storedEventRecord(entry.payload));
    }
    await compareStoredNodes(audit, tenantId, verifier);
    await compareIndexColumns(store, entries, intact, verifier);
    progress.update(Number(verifier.size), total > 0 ? Number(verifier.size) / total : undefined);
    if (entries.length < PAGE_SIZE) break;
    from = last + 1n;
  }
  progress.done();
  if (!checkpointsExhausted) {
    const beyond = await audit.checkpoints(ALL_TENANTS, tenantId, nextCheckpoint, 1);
    verifier.expectCheckpoints(beyond);
    signedSize = beyond.at(-1)?.size ?? signedSize;
  }
  const queuedRecords = new Set<string>();
  for (const recordId of verifier.awaitedPurgeRecords) {
    if ((await audit.pendingEvents(ALL_TENANTS, tenantId, recordId)) > 0) queuedRecords.add(recordId);
  }
  verifier.finish(queuedRecords);
  if ((head?.size ?? 0n) !== verifier.size) {
    const says = head ? `says ${head.size} entries` : "is missing";
    verifier.report({ problem: `the log's head ${says}, ${verifier.size} were found` });
  }
  warnOfUnsignedTail(verifier, signedSize, savedNote !== undefined);
  const pending = await audit.pendingEvents(ALL_TENANTS, tenantId);
  if (pending > 0) {
    verifier.notes.push(
      `${pending} stored event(s) are queued for the log: a running server appends them within its checkpoint interval`,
    );
  }
  const outside = await audit.eventsOutsideLog(ALL_TENANTS, tenantId, OUTSIDE_LOG_SHOWN + 1);
  for (const eventId of outside.slice(0, OUTSIDE_LOG_SHOWN)) {
    verifier.report({
      eventId,
      problem: `event ${eventId} is stored but not in the log (added behind the server's back, or while the trail was disabled)`,
    });
  }
  if (outside.length > OUTSIDE_LOG_SHOWN) verifier.report({ problem: "more events are stored outside the log" });
  return verifier;
}

/**
 * Entries no signed checkpoint covers are what a log cut back together with its checkpoints
 * looks like, as well as what a server that has not signed yet leaves: only a checkpoint saved
 * earlier tells them apart.
 */
function warnOfUnsignedTail(verifier: LogVerifier, signedSize: bigint, checkedSaved: boolean): void {
  if (verifier.size <= signedSize) return;
  const unsigned =
    signedSize === 0n
      ? `the log has ${verifier.size} entries but the database holds no signed checkpoint`
      : `entries ${signedSize}..${verifier.size - 1n} are in no signed checkpoint (the latest is of size ${signedSize})`;
  const rollback = checkedSaved
    ? ""
    : ": if a running server has not just signed them, checkpoints may have been removed with entries after them; check a checkpoint saved earlier with --checkpoint FILE";
  verifier.warnings.push(`${unsigned}${rollback}`);
}

/** The columns queries find events by must hold what each intact event's payload gives. */
async function compareIndexColumns(
  store: Database,
  entries: readonly LogEntry[],
  intact: readonly EventRecord[],
  verifier: LogVerifier,
): Promise<void> {
  const differences = await store.columnDifferences(ALL_TENANTS, intact);
  if (differences.length === 0) return;
  const positions = new Map(entries.map((entry) => [entry.eventId, entry.position]));
  for (const { eventId, column, stored, derived } of differences) {
    verifier.report({
      position: positions.get(eventId),
      eventId,
      problem: `event ${eventId}'s ${column} was altered: it holds ${shown(stored)}, its payload gives ${shown(derived)}; queries filtering on ${column} miss or wrongly find it`,
    });
  }
}

/** A column's value for a finding: quoted, NULL as such, long ones (search vectors) cut short. */
function shown(value: string | null): string {
  if (value === null) return "NULL";
  return JSON.stringify(value.length > SHOWN_VALUE_CHARS ? `${value.slice(0, SHOWN_VALUE_CHARS)}…` : value);
}

/** The subtree hashes proofs are built from must be the ones the leaves give. */
async function compareStoredNodes(audit: AuditLog, tenantId: string, verifier: LogVerifier): Promise<void> {
  const rebuilt = verifier.takeRebuiltNodes();
  if (rebuilt.length === 0) return;
  const stored = await audit.storedNodes(
    ALL_TENANTS,
    tenantId,
    rebuilt.map((node) => node.id),
  );
  rebuilt.forEach(({ id, hash }, i) => {
    const width = 2 ** id.level;
    const leaves = `leaves ${id.index * width}..${(id.index + 1) * width - 1}`;
    const found = stored[i];
    if (!found)
      verifier.report({ problem: `the stored hash of subtree ${id.level}/${id.index} (${leaves}) is missing` });
    else if (!Buffer.from(found).equals(hash)) {
      verifier.report({
        problem: `the stored hash of subtree ${id.level}/${id.index} (${leaves}) differs from the one its leaves give: proofs built on it would fail`,
      });
    }
  });
}

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

/** The log name a key (or the first of a key set: every key of one log has its name) signs as. */
function keyName(verifierKey: string | readonly string[]): string {
  const first = typeof verifierKey === "string" ? verifierKey : verifierKey[0];
  if (first === undefined) throw new CheckpointError("no verifier key given");
  return parseVerifierKey(first).name;
}

/** The size line of a checkpoint note, read before its signature is checked (the verifier checks it). */
function checkpointSize(note: string): { size: bigint } {
  const line = note.split("\n")[1] ?? "";
  if (!/^\d+$/.test(line))
    throw new CheckpointError("the checkpoint file is not a checkpoint note (its second line is not a size)");
  return { size: BigInt(line) };
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
export function printVerification(verifier: LogVerifier, print: (line: string) => void): number {
  const code = printOutcome(verifier, print);
  for (const purge of verifier.purges) print(describePurge(purge));
  for (const warning of verifier.warnings) print(`warning: ${warning}`);
  for (const note of verifier.notes) print(`note: ${note}`);
  return code;
}

/** A checkpoint note saved to a file (see noteOfFile). */
export function readCheckpointFile(path: string): string {
  return noteOfFile(readFileSync(path, "utf8"));
}

/** A purge record as verify lists it. */
function describePurge(purge: PurgeFound): string {
  return (
    `purge: position ${purge.position}, ${purge.recordId}: ${purge.kind} at ${purge.at} by ${purge.by}, ` +
    `${purge.eventIds.length} event(s): ${purge.reason}`
  );
}

function printOutcome(verifier: LogVerifier, print: (line: string) => void): number {
  if (verifier.findingCount === 0) {
    print(
      `OK: ${verifier.size} entries, root ${Buffer.from(verifier.root()).toString("base64")}; ` +
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
