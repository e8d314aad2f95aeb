import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  type AuditService,
  type Checkpoint,
  CheckpointSchema,
  GetCheckpointResponseSchema,
  GetConsistencyProofResponseSchema,
  GetInclusionProofResponseSchema,
  GetPublicKeyResponseSchema,
  SigningKeySchema,
} from "../../../gen/chaukas/backend/v1/audit_pb.ts";
import type { AuditTrail } from "../../core/audit/audit-trail.ts";
import { checkpointId } from "../../core/audit/checkpoint.ts";
import type { StoredCheckpoint } from "../../store/audit-log.ts";
import { principalOf } from "./auth.ts";
import { mapDomainErrors } from "./connect-errors.ts";

/** chaukas.backend.v1.AuditService: thin handlers over the AuditTrail. */
export function auditServiceHandlers(trail: AuditTrail): ServiceImpl<typeof AuditService> {
  const toCheckpoint = (c: StoredCheckpoint): Checkpoint =>
    create(CheckpointSchema, {
      origin: trail.origin(c.tenantId),
      size: c.size,
      rootHash: c.rootHash,
      note: c.note,
      id: checkpointId(c.size),
    });

  return {
    getCheckpoint: (req, ctx) =>
      mapDomainErrors(async () => {
        const checkpoint = await trail.checkpoint(principalOf(ctx), req.tenantId, req.size);
        return create(GetCheckpointResponseSchema, { checkpoint: toCheckpoint(checkpoint) });
      }),

    getInclusionProof: (req, ctx) =>
      mapDomainErrors(async () => {
        const proof = await trail.inclusionProof(principalOf(ctx), req.tenantId, req.eventId, req.treeSize);
        return create(GetInclusionProofResponseSchema, {
          leafIndex: proof.leafIndex,
          leafHash: proof.leafHash,
          contentHash: Buffer.from(proof.contentHash).toString("hex"),
          proof: proof.proof,
          checkpoint: toCheckpoint(proof.checkpoint),
        });
      }),

    getConsistencyProof: (req, ctx) =>
      mapDomainErrors(async () => {
        const proof = await trail.consistencyProof(principalOf(ctx), req.tenantId, req.fromSize, req.toSize);
        return create(GetConsistencyProofResponseSchema, {
          proof: proof.proof,
          from: toCheckpoint(proof.from),
          to: toCheckpoint(proof.to),
        });
      }),

    getPublicKey: () =>
      mapDomainErrors(async () =>
        create(GetPublicKeyResponseSchema, {
          verifierKey: trail.signer.verifierKey,
          keyName: trail.signer.name,
          publicKey: trail.signer.publicKey,
          keys: (await trail.signingKeys()).map((key) =>
            create(SigningKeySchema, {
              verifierKey: key.verifierKey,
              validFrom: timestampFromDate(key.validFrom),
              validUntil: key.validUntil && timestampFromDate(key.validUntil),
            }),
          ),
        }),
      ),
  };
}
