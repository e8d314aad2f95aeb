import type { GetInclusionProofResponse } from "../../../gen/chaukas/backend/v1/audit_pb.ts";
import { equalBytes, fromHex } from "./bytes.ts";
import { leafHashOf, rootFromInclusionProof } from "./merkle.ts";
import { openCheckpoint, parseVerifierKey } from "./signed-note.ts";

export type ProofVerdict =
  | { verified: true; checkpointSize: bigint; origin: string; leafIndex: bigint }
  | { verified: false; reason: string };

/**
 * Checks, in the page, that an event with `contentHash` is in a checkpoint signed by `verifierKey`:
 * the note's Ed25519 signature, the checkpoint the answer states against its note, the leaf hash
 * against the content hash, and the RFC 9162 path from the leaf to the signed root.
 */
export async function verifyInclusionProof(
  answer: GetInclusionProofResponse,
  verifierKey: string,
  contentHash: string,
): Promise<ProofVerdict> {
  const refuse = (reason: string): ProofVerdict => ({ verified: false, reason });
  const { checkpoint } = answer;
  if (!checkpoint) return refuse("the answer has no checkpoint");
  let signed: Awaited<ReturnType<typeof openCheckpoint>>;
  try {
    signed = await openCheckpoint(checkpoint.note, await parseVerifierKey(verifierKey));
  } catch (err) {
    return refuse((err as Error).message);
  }
  if (signed.size !== checkpoint.size || !equalBytes(signed.rootHash, checkpoint.rootHash)) {
    return refuse("the answer's checkpoint is not the one its note signs");
  }
  if (answer.contentHash.toLowerCase() !== contentHash.toLowerCase()) {
    return refuse("the proof is for another content hash than the event's");
  }
  const content = fromHex(contentHash);
  if (content?.length !== 32) return refuse("the event's content hash is not 32 bytes of hex");
  const leaf = await leafHashOf(content);
  if (!equalBytes(leaf, answer.leafHash)) return refuse("the answer's leaf hash is not the event's");
  const root = await rootFromInclusionProof(answer.leafIndex, signed.size, leaf, answer.proof);
  if (typeof root === "string") return refuse(root);
  if (!equalBytes(root, signed.rootHash)) return refuse("the proof does not lead to the signed root");
  return { verified: true, checkpointSize: signed.size, origin: signed.origin, leafIndex: answer.leafIndex };
}
