import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from "../../lib/errors.ts";
import {
  CompactRange,
  consistencyProofRanges,
  foldSubtrees,
  type Hash,
  inclusionProofRanges,
  type LeafRange,
  leafHash,
  rangeSubtrees,
  verifyConsistency,
  verifyInclusion,
} from "../../lib/merkle.ts";
import type { AuditLog, StoredCheckpoint } from "../../store/audit-log.ts";
import type { Database } from "../../store/database.ts";
import type { SigningKey } from "../../store/signing-keys.ts";
import { authorize, type Principal, projectLimit, scopeTenant, tenantScope } from "../access.ts";
import { checkIds } from "../ids.ts";
import { type CheckpointSigner, openCheckpoint } from "./checkpoint.ts";

/** Queued events taken per integrating transaction. */
const INTEGRATE_CHUNK = 10_000;

/**
 * Takes every queued event into its log and the stats rollups, one bounded transaction at a
 * time; returns how many.
 */
export async function integrateQueued(audit: AuditLog): Promise<number> {
  let total = 0;
  for (;;) {
    const taken = await audit.integrate(INTEGRATE_CHUNK);
    total += taken;
    if (taken < INTEGRATE_CHUNK) return total;
  }
}

/** The origin line of a tenant's checkpoints: one log per tenant under the server's log name. */
export function logOrigin(logName: string, tenantId: string): string {
  return `${logName}/${encodeURIComponent(tenantId)}`;
}

export interface InclusionProof {
  leafIndex: bigint;
  leafHash: Hash;
  contentHash: Uint8Array;
  proof: Hash[];
  checkpoint: StoredCheckpoint;
}

export interface ConsistencyProof {
  proof: Hash[];
  from: StoredCheckpoint;
  to: StoredCheckpoint;
}

/**
 * The audit trail's use cases: signing checkpoints of every tenant's log, and serving them with
 * inclusion and consistency proofs. Proofs are built from stored subtree hashes (O(log n) reads)
 * and checked against the checkpoint before they are served, so a damaged log fails loudly
 * instead of handing out a proof that does not verify.
 */
export class AuditTrail {
  readonly #store: Database;
  readonly #signer: CheckpointSigner;
  readonly #logName: string;
  readonly #verifierKeys: readonly string[];

  /**
   * `verifierKeys`: every key the database's checkpoints were signed with (the signer's among
   * them), so that checkpoints signed before a rotation are still served.
   */
  constructor(store: Database, signer: CheckpointSigner, logName: string, verifierKeys = [signer.verifierKey]) {
    this.#store = store;
    this.#signer = signer;
    this.#logName = logName;
    this.#verifierKeys = verifierKeys.includes(signer.verifierKey)
      ? verifierKeys
      : [...verifierKeys, signer.verifierKey];
  }

  get signer(): CheckpointSigner {
    return this.#signer;
  }

  /** Every key that signs or signed the database's checkpoints, with when, as the database records them. */
  signingKeys(): Promise<SigningKey[]> {
    return this.#store.signingKeys.signingKeys();
  }

  origin(tenantId: string): string {
    return logOrigin(this.#logName, tenantId);
  }

  /**
   * Moves every queued event into its tenant's log, then signs a checkpoint for every log that
   * grew since its latest one; returns those checkpoints.
   */
  async integrateAndSign(): Promise<StoredCheckpoint[]> {
    await integrateQueued(this.#store.audit);
    // After a rotation, the old key signs nothing more: that server must restart with the new one.
    const current = (await this.#store.signingKeys.signingKeys()).find((key) => !key.validUntil);
    if (current && current.verifierKey !== this.#signer.verifierKey) {
      throw new Error(
        `this server's key ${this.#signer.verifierKey} no longer signs: the database's signing key is now ${current.verifierKey} (restart with the rotated key file)`,
      );
    }
    const signed = [];
    for (const head of await this.#store.audit.headsAhead()) {
      const rootHash = new CompactRange(Number(head.size), head.compactRange).root();
      const note = this.#signer.sign({ origin: this.origin(head.tenantId), size: head.size, rootHash });
      const checkpoint = { tenantId: head.tenantId, size: head.size, rootHash, note };
      await this.#store.audit.addCheckpoint(checkpoint);
      signed.push(checkpoint);
    }
    return signed;
  }

  /** The checkpoint of `size`, or the latest when size is 0. */
  async checkpoint(principal: Principal, tenantId: string, size: bigint): Promise<StoredCheckpoint> {
    const tenant = this.#tenant(principal, tenantId);
    return this.#checkpoint(principal, tenant, size);
  }

  async inclusionProof(
    principal: Principal,
    tenantId: string,
    eventId: string,
    treeSize: bigint,
  ): Promise<InclusionProof> {
    const tenant = this.#tenant(principal, tenantId);
    if (!eventId) throw new InvalidArgumentError([{ field: "event_id", description: "is required" }]);
    checkIds({ event_id: eventId });
    const scope = tenantScope(principal);
    // Another project's event is answered as no such event: a key limited to projects learns no id.
    const projects = projectLimit(principal);
    const found = await this.#store.audit.entry(scope, tenant, eventId);
    const entry =
      found && (!projects || (found.projectId !== undefined && projects.includes(found.projectId))) ? found : undefined;
    if (!entry && (await this.#store.audit.pendingEvents(scope, tenant, eventId, projects)) > 0) {
      throw new FailedPreconditionError(
        `event "${eventId}" is stored and queued for the audit log: it gets its position and checkpoint within the checkpoint interval`,
      );
    }
    if (!entry) throw new NotFoundError(`event "${eventId}" is not in the audit log of tenant "${tenant}"`);
    const checkpoint = await this.#checkpoint(principal, tenant, treeSize);
    if (entry.position >= checkpoint.size) {
      throw new FailedPreconditionError(
        `event "${eventId}" is at position ${entry.position}, after checkpoint ${checkpoint.size}; ` +
          "it is in the next checkpoint, signed within the checkpoint interval",
      );
    }
    const leaf = leafHash(entry.contentHash);
    const index = Number(entry.position);
    const size = Number(checkpoint.size);
    const proof = await this.#proofHashes(principal, tenant, inclusionProofRanges(index, size));
    checkServed(() => verifyInclusion(leaf, index, size, proof, checkpoint.rootHash), tenant);
    return { leafIndex: entry.position, leafHash: leaf, contentHash: entry.contentHash, proof, checkpoint };
  }

  /** Proof that checkpoint `fromSize` is a prefix of checkpoint `toSize` (0: the latest). */
  async consistencyProof(
    principal: Principal,
    tenantId: string,
    fromSize: bigint,
    toSize: bigint,
  ): Promise<ConsistencyProof> {
    const tenant = this.#tenant(principal, tenantId);
    const to = await this.#checkpoint(principal, tenant, toSize);
    if (fromSize === 0n) throw new InvalidArgumentError([{ field: "from_size", description: "is required" }]);
    if (fromSize > to.size) {
      throw new InvalidArgumentError([{ field: "from_size", description: `is larger than to_size ${to.size}` }]);
    }
    const from = await this.#checkpoint(principal, tenant, fromSize);
    const [size1, size2] = [Number(from.size), Number(to.size)];
    const proof = await this.#proofHashes(principal, tenant, consistencyProofRanges(size1, size2));
    checkServed(() => verifyConsistency(size1, size2, proof, from.rootHash, to.rootHash), tenant);
    return { proof, from, to };
  }

  #tenant(principal: Principal, tenantId: string): string {
    authorize(principal, "read");
    const tenant = scopeTenant(principal, tenantId);
    if (!tenant) throw new InvalidArgumentError([{ field: "tenant_id", description: "is required" }]);
    checkIds({ tenant_id: tenant });
    return tenant;
  }

  /**
   * The stored checkpoint as its signed note states it: size and root come from the note, never
   * from the columns beside it, which a signature does not cover.
   */
  async #checkpoint(principal: Principal, tenant: string, size: bigint): Promise<StoredCheckpoint> {
    const stored = await this.#store.audit.checkpoint(tenantScope(principal), tenant, size === 0n ? undefined : size);
    if (stored) {
      const signed = checkServed(() => openCheckpoint(stored.note, this.#verifierKeys), tenant);
      if (signed.origin !== this.origin(tenant) || signed.size !== stored.size) {
        throw damaged(tenant, `checkpoint ${stored.size} holds a note of ${signed.origin} at size ${signed.size}`);
      }
      return { tenantId: tenant, size: signed.size, rootHash: signed.rootHash, note: stored.note };
    }
    throw new NotFoundError(
      size === 0n
        ? `tenant "${tenant}" has no checkpoint yet: one is signed within the checkpoint interval of its first event`
        : `tenant "${tenant}" has no checkpoint of size ${size}`,
    );
  }

  /** Each range's hash, from the stored subtrees it is made of, fetched in one go. */
  async #proofHashes(principal: Principal, tenant: string, ranges: LeafRange[]): Promise<Hash[]> {
    const parts = ranges.map(rangeSubtrees);
    const hashes = await this.#store.audit.subtreeHashes(tenantScope(principal), tenant, parts.flat());
    let next = 0;
    return parts.map((ids) => {
      const start = next;
      next += ids.length;
      return foldSubtrees(hashes.slice(start, next));
    });
  }
}

/** A proof or note the server cannot verify itself means its stored log is damaged: fail, loudly. */
function checkServed<T>(verify: () => T, tenant: string): T {
  try {
    return verify();
  } catch (err) {
    throw damaged(tenant, `what it would serve does not verify: ${(err as Error).message}`, err);
  }
}

function damaged(tenant: string, detail: string, cause?: unknown): Error {
  return new Error(`the audit log of tenant "${tenant}" is damaged: ${detail}`, { cause });
}
