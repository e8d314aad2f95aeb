import { asBuffer } from "../../lib/bytes.ts";
import { CompactRange, type Hash, leafHash, type NodeId } from "../../lib/merkle.ts";
import type { PurgeSummary } from "../retention/purge-record.ts";
import { CheckpointError, openCheckpoint } from "./checkpoint.ts";

/** One thing wrong with a log, named as precisely as the evidence allows. */
export interface Finding {
  position?: bigint;
  eventId?: string;
  problem: string;
}

/** One log entry as the verifier reads it, in position order. */
export interface EntryToVerify {
  /** Where the entry says it is; undefined when the order itself is the evidence (an export). */
  position?: bigint;
  eventId: string;
  /** The leaf data the log holds for it. */
  contentHash: Uint8Array;
  hashPrev: Uint8Array;
  /** The SHA-256 of the event as it is stored now; undefined when the event is gone. */
  actualContentHash: Uint8Array | undefined;
  /** The purge record that took the event's content, if one did: its leaf is then taken as kept. */
  purgedBy?: string;
  /** What the entry says, when it is a purge record. */
  purgeRecord?: PurgeSummary;
}

/** A purge record found in the log, where it was found. */
export interface PurgeFound extends PurgeSummary {
  position: bigint;
}

export interface SignedCheckpoint {
  size: bigint;
  note: string;
  /** The root stored beside the note, which must be the one the note signs; absent in a file. */
  rootHash?: Uint8Array;
  /** How findings name it; `checkpoint <size>` by default. */
  label?: string;
}

/** What a verification found, as `chaukas verify` prints it and AdminService.VerifyLog answers it. */
export interface VerificationOutcome {
  size: bigint;
  rootHash: Uint8Array;
  checkpointsVerified: number;
  findingCount: number;
  /** The first MAX_FINDINGS of findingCount. */
  findings: readonly Pick<Finding, "position" | "problem">[];
  warnings: readonly string[];
  notes: readonly string[];
  /** Each purge record of the log, described in a line. */
  purges: readonly string[];
}

/** Findings kept in full; past this only their number grows. */
export const MAX_FINDINGS = 1000;

/**
 * Rebuilds a tenant's log entry by entry and checks it: positions without gaps, each hash_prev
 * equal to the previous entry's content hash, each event still hashing to its leaf, and the
 * root at every checkpoint's size equal to the root the checkpoint signs. The same code checks a
 * live database and an export file.
 */
export class LogVerifier {
  readonly #origin: string;
  readonly #verifierKey: string | readonly string[];
  readonly #range = CompactRange.empty();
  readonly #pending: SignedCheckpoint[] = [];
  #previous: Uint8Array = new Uint8Array();
  readonly findings: Finding[] = [];
  /** What a reader should know that is not wrong (events still queued for the log, say). */
  readonly notes: string[] = [];
  /** What nothing here proves wrong but an auditor should look into (a log no checkpoint covers, say). */
  readonly warnings: string[] = [];
  /** The purge records of the log, in log order. */
  readonly purges: PurgeFound[] = [];
  /** Purged events met in the walk whose record has not come yet, by record. */
  readonly #purgedAwaiting = new Map<string, Set<string>>();
  findingCount = 0;
  checkpointsVerified = 0;

  readonly #keepNodesFrom: number | undefined;
  #rebuiltNodes: { id: NodeId; hash: Hash }[] = [];

  /**
   * `verifierKey`: the key that signs the log's checkpoints, or the keys that signed them over time.
   * `keepNodesFrom`: keep the subtrees of at least that level the walk rebuilds, for comparing with
   * stored ones (see takeRebuiltNodes).
   */
  constructor(origin: string, verifierKey: string | readonly string[], keepNodesFrom?: number) {
    this.#origin = origin;
    this.#verifierKey = verifierKey;
    this.#keepNodesFrom = keepNodesFrom;
  }

  /** The subtrees completed since the last call (with keepNodesFrom), and their rebuilt hashes. */
  takeRebuiltNodes(): { id: NodeId; hash: Hash }[] {
    const nodes = this.#rebuiltNodes;
    this.#rebuiltNodes = [];
    return nodes;
  }

  outcome(): VerificationOutcome {
    const { checkpointsVerified, findingCount, findings, warnings, notes } = this;
    const purges = this.purges.map(
      (purge) =>
        `position ${purge.position}, ${purge.recordId}: ${purge.kind} at ${purge.at} by ${purge.by}, ` +
        `${purge.eventIds.length} event(s): ${purge.reason}`,
    );
    return {
      size: this.size,
      rootHash: this.root(),
      checkpointsVerified,
      findingCount,
      findings,
      warnings,
      notes,
      purges,
    };
  }

  get size(): bigint {
    return BigInt(this.#range.size);
  }

  root(): Uint8Array {
    return this.#range.root();
  }

  /** Queues checkpoints to check once the log reaches their size; give them before the walk passes it. */
  expectCheckpoints(checkpoints: readonly SignedCheckpoint[]): void {
    for (const checkpoint of checkpoints) {
      if (checkpoint.size < this.size || (checkpoint.size === this.size && this.size > 0n)) {
        this.#find({ problem: `${labelOf(checkpoint)} came after the log passed its size` });
      } else if (checkpoint.size === 0n) {
        this.#checkCheckpoint(checkpoint);
      } else {
        // Kept in size order; checkpoints mostly come in that order, so this looks back a step at most.
        let at = this.#pending.length;
        while (at > 0 && this.#pending[at - 1].size > checkpoint.size) at--;
        this.#pending.splice(at, 0, checkpoint);
      }
    }
  }

  add(entry: EntryToVerify): void {
    const position = this.size;
    if (entry.position !== undefined && entry.position !== position) {
      this.#find({
        position,
        problem:
          entry.position > position
            ? `positions ${position}..${entry.position - 1n} are missing from the log (leaves deleted)`
            : `position ${entry.position} appears again (leaves duplicated)`,
      });
    }
    const at = { position: entry.position ?? position, eventId: entry.eventId };
    if (!equal(entry.hashPrev, this.#previous)) {
      this.#find({
        ...at,
        problem: `hash_prev ${hex(entry.hashPrev) || "(empty)"} is not the previous entry's content hash ${hex(this.#previous) || "(empty: first entry)"}: entries were reordered, removed or inserted`,
      });
    }
    if (entry.purgedBy !== undefined) {
      // Its content went; its leaf holds the hash of what it was, which is all a proof needs.
      const awaiting = this.#purgedAwaiting.get(entry.purgedBy);
      if (awaiting) awaiting.add(entry.eventId);
      else this.#purgedAwaiting.set(entry.purgedBy, new Set([entry.eventId]));
    } else if (entry.actualContentHash === undefined) {
      this.#find({
        ...at,
        problem: `event ${entry.eventId} is gone: the log holds its hash, the store no longer holds it`,
      });
    } else if (!equal(entry.actualContentHash, entry.contentHash)) {
      this.#find({
        ...at,
        problem: `event ${entry.eventId} was altered: it hashes to ${hex(entry.actualContentHash)}, its leaf holds ${hex(entry.contentHash)}`,
      });
    }
    if (entry.purgeRecord) this.#checkPurgeRecord(entry.purgeRecord, at.position);
    const keepFrom = this.#keepNodesFrom;
    this.#range.append(
      leafHash(entry.contentHash),
      keepFrom === undefined ? undefined : (id, hash) => id.level >= keepFrom && this.#rebuiltNodes.push({ id, hash }),
    );
    this.#previous = entry.contentHash;
    while (this.#pending.length > 0 && this.#pending[0].size === this.size) {
      // biome-ignore lint/style/noNonNullAssertion: checked non-empty
      this.#checkCheckpoint(this.#pending.shift()!);
    }
  }

  /** The records purged events met so far name that the walk has not reached. */
  get awaitedPurgeRecords(): string[] {
    return [...this.#purgedAwaiting.keys()];
  }

  /**
   * Ends the walk: checkpoints beyond the log's end mean entries were removed from its tail, and an
   * event purged by a record the log does not hold lost its content without a trace, unless that
   * record is among `queuedRecords` (stored, waiting for its place in the log).
   */
  finish(queuedRecords: ReadonlySet<string> = new Set()): void {
    for (const checkpoint of this.#pending.splice(0)) {
      // Only a note this log's key signed says anything about the log: a forged or mistyped one
      // is reported as such, not as entries removed.
      const problem = this.#unsignedProblem(checkpoint);
      this.#find({
        problem: problem
          ? `${labelOf(checkpoint)} does not verify: ${problem}`
          : `${labelOf(checkpoint)} signs more entries than the log holds (${this.size}): entries were removed`,
      });
    }
    for (const [recordId, eventIds] of this.#purgedAwaiting) {
      if (queuedRecords.has(recordId)) {
        this.notes.push(`${eventIds.size} event(s) were purged by ${recordId}, which is queued for the log`);
        continue;
      }
      for (const eventId of eventIds) {
        this.#find({
          eventId,
          problem: `event ${eventId} was purged by ${recordId}, which is not in the log after it: its content went without a record`,
        });
      }
    }
    this.#purgedAwaiting.clear();
  }

  /** A purge record must name exactly the events the walk found purged by it before it. */
  #checkPurgeRecord(record: PurgeSummary, position: bigint): void {
    this.purges.push({ ...record, position });
    const purged = this.#purgedAwaiting.get(record.recordId) ?? new Set<string>();
    this.#purgedAwaiting.delete(record.recordId);
    for (const eventId of record.eventIds) {
      if (!purged.delete(eventId)) {
        this.#find({
          position,
          eventId: record.recordId,
          problem: `purge record ${record.recordId} lists event ${eventId}, which is not purged by it earlier in the log`,
        });
      }
    }
    for (const eventId of purged) {
      this.#find({
        position,
        eventId,
        problem: `event ${eventId} was purged by ${record.recordId}, which does not list it`,
      });
    }
  }

  /** Records a finding found outside the walk (an event that never joined the log, say). */
  report(finding: Finding): void {
    this.#find(finding);
  }

  /** Why the checkpoint's note is not one of this log's, signed by its key, of its size; undefined when it is. */
  #unsignedProblem(checkpoint: SignedCheckpoint): string | undefined {
    try {
      this.#opened(checkpoint);
      return undefined;
    } catch (err) {
      if (!(err instanceof CheckpointError)) throw err;
      return err.message;
    }
  }

  #opened(checkpoint: SignedCheckpoint) {
    const signed = openCheckpoint(checkpoint.note, this.#verifierKey);
    if (signed.origin !== this.#origin)
      throw new CheckpointError(`its origin is "${signed.origin}", not "${this.#origin}"`);
    if (signed.size !== checkpoint.size) throw new CheckpointError(`its note states size ${signed.size}`);
    return signed;
  }

  #checkCheckpoint(checkpoint: SignedCheckpoint): void {
    try {
      const signed = this.#opened(checkpoint);
      if (!equal(signed.rootHash, this.root())) {
        throw new CheckpointError(`it signs root ${base64(signed.rootHash)}, the entries give ${base64(this.root())}`);
      }
      if (checkpoint.rootHash && !equal(checkpoint.rootHash, signed.rootHash)) {
        throw new CheckpointError(
          `the root stored beside its note is ${base64(checkpoint.rootHash)}, the note signs ${base64(signed.rootHash)}`,
        );
      }
      this.checkpointsVerified++;
    } catch (err) {
      if (!(err instanceof CheckpointError)) throw err;
      this.#find({ problem: `${labelOf(checkpoint)} does not verify: ${err.message}` });
    }
  }

  #find(finding: Finding): void {
    this.findingCount++;
    if (this.findings.length < MAX_FINDINGS) this.findings.push(finding);
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return asBuffer(a).equals(b);
}

const hex = (bytes: Uint8Array) => asBuffer(bytes).toString("hex");
const base64 = (bytes: Uint8Array) => asBuffer(bytes).toString("base64");
const labelOf = (checkpoint: SignedCheckpoint) => checkpoint.label ?? `checkpoint ${checkpoint.size}`;
