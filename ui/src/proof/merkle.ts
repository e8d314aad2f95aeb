import { equalBytes, sha256 } from "./bytes.ts";

/** RFC 6962 / RFC 9162 hashing of the audit log, as the page checks it. */

export const leafHashOf = (data: Uint8Array) => sha256(Uint8Array.of(0x00), data);
const nodeHashOf = (left: Uint8Array, right: Uint8Array) => sha256(Uint8Array.of(0x01), left, right);

/**
 * The root an inclusion proof leads to (RFC 9162 section 2.1.3.2), or a reason it is malformed:
 * an index outside the tree, a proof of the wrong length or a hash that is not 32 bytes.
 */
export async function rootFromInclusionProof(
  index: bigint,
  size: bigint,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
): Promise<Uint8Array | string> {
  if (index < 0n || index >= size) return `leaf index ${index} is outside a tree of ${size} leaves`;
  if (leafHash.length !== 32 || proof.some((hash) => hash.length !== 32)) return "a hash is not 32 bytes";
  let fn = index;
  let sn = size - 1n;
  let root = leafHash;
  for (const sibling of proof) {
    if (sn === 0n) return "the proof is longer than the tree is deep";
    if (fn % 2n === 1n || fn === sn) {
      root = await nodeHashOf(sibling, root);
      while (fn % 2n === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      root = await nodeHashOf(root, sibling);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) return "the proof is shorter than the tree is deep";
  return root;
}

/** Whether the proof shows `leafHash` at `index` in the tree of `size` leaves with `root`. */
export async function provesInclusion(
  index: bigint,
  size: bigint,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): Promise<boolean> {
  const computed = await rootFromInclusionProof(index, size, leafHash, proof);
  return typeof computed !== "string" && equalBytes(computed, root);
}
