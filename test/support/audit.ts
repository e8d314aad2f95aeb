import { generateKeyPairSync } from "node:crypto";
import { AuditTrail } from "../../src/core/audit/audit-trail.ts";
import { CheckpointSigner } from "../../src/core/audit/checkpoint.ts";
import type { Database } from "../../src/store/database.ts";

/** Tests' log name: the origin of every checkpoint is `chaukas.test/<tenant>`. */
export const TEST_LOG_NAME = "chaukas.test";

/** A signer with a fresh Ed25519 key. */
export function testSigner(name = TEST_LOG_NAME): CheckpointSigner {
  return new CheckpointSigner(name, generateKeyPairSync("ed25519").privateKey);
}

/** The audit trail over `store`, signed by a fresh key. */
export function testAuditTrail(store: Database, signer = testSigner()): AuditTrail {
  return new AuditTrail(store, signer, signer.name);
}
