import { fromBinary } from "@bufbuild/protobuf";
import { EventSchema } from "../../../gen/chaukas/spec/common/v1/events_pb.ts";
import { asBuffer, sha256 } from "../../lib/bytes.ts";
import { UnavailableError } from "../../lib/errors.ts";
import { type AuditLog, type LogEntry, STORED_NODE_MIN_LEVEL } from "../../store/audit-log.ts";
import type { Database } from "../../store/database.ts";
import type { EventRecord } from "../../store/event-store.ts";
import { ALL_TENANTS } from "../../store/tenant-scope.ts";
import { storedEventRecord } from "../event-record.ts";
import { PURGE_RECORD_PREFIX, purgeSummaryOf } from "../retention/purge-record.ts";
import { logOrigin } from "./audit-trail.ts";
import { CheckpointError, parseVerifierKey } from "./checkpoint.ts";
import { LogVerifier } from "./log-verifier.ts";

const PAGE_SIZE = 2000;
/** Events stored without a leaf that are named one by one; past this only their count is told. */
const OUTSIDE_LOG_SHOWN = 100;
/** A column value longer than this is cut short in a finding. */
const SHOWN_VALUE_CHARS = 120;

/** Told after each page of a verification: entries checked so far, of how many the head says. */
export type VerifyProgress = (checked: number, total: number) => void;

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
  progress: VerifyProgress = () => {},
): Promise<LogVerifier> {
  const origin = logOrigin(keyName(verifierKey), tenantId);
  const verifier = new LogVerifier(origin, verifierKey, STORED_NODE_MIN_LEVEL);
  const missing = await store.missingSafeguards();
  for (const problem of missing) verifier.report({ problem });
  if (savedNote !== undefined) {
    const { size } = checkpointSize(savedNote);
    verifier.expectCheckpoints([{ size, note: savedNote, label: `the saved checkpoint (size ${size})` }]);
  }
  try {
    await walkLog(store, tenantId, verifier, savedNote !== undefined, progress);
  } catch (error) {
    // A function the reads call, dropped, leaves the log unreadable: the verification then fails
    // on the safeguards it found missing rather than ending in the database's error. A database
    // out of reach is not such a finding.
    if (missing.length === 0 || error instanceof UnavailableError) throw error;
    verifier.report({ problem: `the log could not be read: ${error instanceof Error ? error.message : error}` });
  }
  return verifier;
}

/**
 * Every leaf, checkpoint and stored node of the log, the events outside it, and the head.
 * `checkedSaved`: a checkpoint saved earlier is among those the verifier expects.
 */
async function walkLog(
  store: Database,
  tenantId: string,
  verifier: LogVerifier,
  checkedSaved: boolean,
  progress: VerifyProgress,
): Promise<void> {
  const { audit } = store;
  const head = await audit.head(ALL_TENANTS, tenantId);
  const total = Number(head?.size ?? 0n);
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
    progress(Number(verifier.size), total);
    if (entries.length < PAGE_SIZE) break;
    from = last + 1n;
  }
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
  warnOfUnsignedTail(verifier, signedSize, checkedSaved);
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

/** The log name a key (or the first of a key set: every key of one log has its name) signs as. */
export function keyName(verifierKey: string | readonly string[]): string {
  const first = typeof verifierKey === "string" ? verifierKey : verifierKey[0];
  if (first === undefined) throw new CheckpointError("no verifier key given");
  return parseVerifierKey(first).name;
}

/** The size line of a checkpoint note, read before its signature is checked (the verifier checks it). */
export function checkpointSize(note: string): { size: bigint } {
  const line = note.split("\n")[1] ?? "";
  if (!/^\d+$/.test(line))
    throw new CheckpointError("the checkpoint file is not a checkpoint note (its second line is not a size)");
  return { size: BigInt(line) };
}
