import { sha256 } from "./bytes.ts";

/**
 * Merkle trees of an append-only log, as defined by RFC 6962 section 2.1 and RFC 9162 section 2.1
 * (the same tree and proofs; RFC 9162 states the verification algorithms).
 *
 * Sizes, indexes and levels are JS numbers: every one must be a non-negative safe integer, so a tree
 * holds at most Number.MAX_SAFE_INTEGER (2^53 - 1) leaves. Bit operators work on 32 bits only, so the
 * arithmetic here uses division and remainder instead of shifts and masks.
 *
 * Hashes passed in are copied, so callers may reuse their buffers. EMPTY_ROOT and the arrays in
 * CompactRange.hashes are shared: don't modify them.
 */

export type Hash = Uint8Array;
export const HASH_SIZE = 32;

const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = Uint8Array.of(0x01);

/** A plain Uint8Array, as the API promises, rather than the Buffer sha256() returns. */
function hashOf(...parts: Uint8Array[]): Hash {
  return new Uint8Array(sha256(Buffer.concat(parts)));
}

/** SHA-256(0x00 || data) */
export function leafHash(data: Uint8Array): Hash {
  return hashOf(LEAF_PREFIX, data);
}

/** SHA-256(0x01 || left || right) */
export function nodeHash(left: Hash, right: Hash): Hash {
  return hashOf(NODE_PREFIX, left, right);
}

/** SHA-256 of nothing: the root of the empty tree (RFC 6962). Don't modify it: it is shared. */
export const EMPTY_ROOT: Hash = hashOf();

/** A perfect subtree: the 2^level leaves [index * 2^level, (index + 1) * 2^level). Level 0 is a leaf. */
export interface NodeId {
  level: number;
  index: number;
}

/** A range of leaves [start, end). */
export interface LeafRange {
  start: number;
  end: number;
}

/**
 * The state of a tree of `size` leaves needed to append to it and compute its root: the hashes of the
 * perfect subtrees that cover [0, size), largest first (one per set bit of size). Their ids are
 * rangeSubtrees({ start: 0, end: size }).
 */
export class CompactRange {
  #size: number;
  /** Changed in place by append; `hashes` hands out frozen copies, made only when asked for. */
  readonly #hashes: Hash[];
  #frozen: readonly Hash[] | undefined;

  /** Throws RangeError unless size is a valid size, hashes.length == popcount(size) and every hash is 32 bytes. */
  constructor(size: number, hashes: readonly Hash[]) {
    requireCount(size, "size");
    if (hashes.length !== popcount(size)) {
      throw new RangeError(`a compact range of size ${size} has ${popcount(size)} hashes, not ${hashes.length}`);
    }
    this.#size = size;
    this.#hashes = hashes.map((hash, i) => copyHash(hash, `hashes[${i}]`));
  }

  static empty(): CompactRange {
    return new CompactRange(0, []);
  }

  get size(): number {
    return this.#size;
  }

  /** Largest subtree first. Frozen; a new array after each append. */
  get hashes(): readonly Hash[] {
    this.#frozen ??= Object.freeze([...this.#hashes]);
    return this.#frozen;
  }

  /**
   * Appends one leaf (its leaf hash). Calls onNode for each perfect subtree of level >= 1 that this append
   * completes, smallest first. The range changes only once every onNode call has returned, so an onNode
   * that throws (say, because storing the node failed) leaves the range as it was.
   */
  append(leaf: Hash, onNode?: (id: NodeId, hash: Hash) => void): void {
    let hash = copyHash(leaf, "leaf");
    const size = this.#size;
    if (size === Number.MAX_SAFE_INTEGER) throw new RangeError("the tree is full: it has 2^53 - 1 leaves");
    // Like adding 1 in binary: each trailing 1 bit of size is a subtree of the carry's level that ends
    // where the carry starts, so the two merge into one of the next level.
    const completed: [NodeId, Hash][] = [];
    let keep = this.#hashes.length;
    let level = 0;
    for (let rest = size; rest % 2 === 1; rest = (rest - 1) / 2) {
      keep--;
      hash = nodeHash(this.#hashes[keep], hash);
      level++;
      completed.push([{ level, index: Math.floor(size / 2 ** level) }, hash]);
    }
    if (onNode) for (const [id, h] of completed) onNode(id, h.slice());
    this.#hashes.length = keep;
    this.#hashes.push(hash);
    this.#frozen = undefined;
    this.#size = size + 1;
  }

  /** The tree's root (RFC 6962 MTH); EMPTY_ROOT when size is 0. */
  root(): Hash {
    return foldSubtrees(this.#hashes);
  }
}

/**
 * The leaf ranges whose MTH hashes are the inclusion proof of leaf `index` in a tree of `size`
 * (RFC 9162 2.1.3.1 PATH), in proof order. Throws RangeError when index >= size.
 */
export function inclusionProofRanges(index: number, size: number): LeafRange[] {
  requireCount(index, "index");
  requireCount(size, "size");
  if (index >= size) throw new RangeError(`leaf ${index} is not in a tree of size ${size}`);
  // Walk PATH's recursion from the root down; PATH lists the sibling of each step after the steps below
  // it, so the ranges found come out in reverse proof order.
  const ranges: LeafRange[] = [];
  let start = 0;
  let end = size;
  while (end - start > 1) {
    const middle = start + splitPoint(end - start);
    if (index < middle) {
      ranges.push({ start: middle, end });
      end = middle;
    } else {
      ranges.push({ start, end: middle });
      start = middle;
    }
  }
  return ranges.reverse();
}

/**
 * The same for the consistency proof between sizes (RFC 9162 2.1.4.1 PROOF/SUBPROOF). Empty when
 * size1 == size2 or size1 == 0. Throws RangeError when size1 > size2.
 */
export function consistencyProofRanges(size1: number, size2: number): LeafRange[] {
  requireCount(size1, "size1");
  requireCount(size2, "size2");
  if (size1 > size2) throw new RangeError(`size1 ${size1} is larger than size2 ${size2}`);
  if (size1 === 0) return [];
  // SUBPROOF(size1, D[start:end], b) unrolled from the top as in inclusionProofRanges. SUBPROOF's flag b
  // stays true while start is 0, i.e. while the subtree holds the whole old tree.
  const ranges: LeafRange[] = [];
  let start = 0;
  let end = size2;
  while (size1 < end) {
    const middle = start + splitPoint(end - start);
    if (size1 <= middle) {
      ranges.push({ start: middle, end });
      end = middle;
    } else {
      ranges.push({ start, end: middle });
      start = middle;
    }
  }
  // Now end == size1: [start, end) is the old tree's last piece, needed unless it is the old tree
  // itself, whose root the verifier already has.
  if (start > 0) ranges.push({ start, end });
  return ranges.reverse();
}

/**
 * The perfect subtrees that make up a range, left to right: each the largest one that starts where the
 * previous one ended and fits. For every range the two functions above return (and for [0, size)) they
 * decrease in size, which is what foldSubtrees needs.
 */
export function rangeSubtrees(range: LeafRange): NodeId[] {
  const { start, end } = range;
  requireCount(start, "start");
  requireCount(end, "end");
  if (start > end) throw new RangeError(`range [${start}, ${end}) ends before it starts`);
  const ids: NodeId[] = [];
  for (let at = start; at < end; ) {
    // A subtree of level l must start at a multiple of 2^l (alignment) and not run past end.
    const level = Math.min(trailingZeros(at), bitLength(end - at) - 1);
    const width = 2 ** level;
    ids.push({ level, index: at / width });
    at += width;
  }
  return ids;
}

/**
 * The MTH of consecutive perfect subtrees given left to right, each smaller than the one before (as
 * from rangeSubtrees): folded from the right, node(h0, node(h1, ... )). The RFC splits a range at its
 * largest power of two below its size, which is exactly the first of such subtrees. EMPTY_ROOT for none.
 */
export function foldSubtrees(hashes: readonly Hash[]): Hash {
  if (hashes.length === 0) return EMPTY_ROOT.slice();
  let root = copyHash(hashes[hashes.length - 1], `hashes[${hashes.length - 1}]`);
  for (let i = hashes.length - 2; i >= 0; i--) root = nodeHash(copyHash(hashes[i], `hashes[${i}]`), root);
  return root;
}

/** Thrown by the verifiers with a reason a person can read. */
export class ProofError extends Error {
  override name = "ProofError";
}

/**
 * RFC 9162 2.1.3.2. Throws ProofError unless `proof` shows `leaf` (a leaf hash) at `index` in the tree of
 * `size` with `root`.
 */
export function verifyInclusion(leaf: Hash, index: number, size: number, proof: readonly Hash[], root: Hash): void {
  checkCount(index, "index");
  checkCount(size, "size");
  if (index >= size) throw new ProofError(`leaf ${index} is not in a tree of size ${size}`);
  checkHash(leaf, "leaf hash");
  checkHash(root, "root");
  checkProof(proof);
  // The RFC's algorithm: fn is the position of the subtree hashed so far among those of its level, sn that
  // of the level's last one. Each proof hash is the sibling on the side fn says. When fn == sn and fn is
  // even, the subtree has no sibling: it rises unchanged until it is a right child, whose sibling is p.
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) throw new ProofError(`proof has ${proof.length} hashes, more than leaf ${index} of ${size} needs`);
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2;
        sn = Math.floor(sn / 2);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw new ProofError(`proof has ${proof.length} hashes, fewer than leaf ${index} of ${size} needs`);
  if (!equalBytes(r, root)) throw new ProofError(`proof does not lead from leaf ${index} to the root of size ${size}`);
}

/**
 * RFC 9162 2.1.4.2. Throws ProofError unless `proof` shows that the tree of size2 with root2 extends the tree
 * of size1 with root1. As transparency-dev/merkle does (and its test vectors expect): equal sizes need an
 * empty proof and byte-equal roots; size1 == 0 is always refused, because every tree extends the empty one
 * and so such a "proof" shows nothing.
 */
export function verifyConsistency(
  size1: number,
  size2: number,
  proof: readonly Hash[],
  root1: Hash,
  root2: Hash,
): void {
  checkCount(size1, "size1");
  checkCount(size2, "size2");
  checkProof(proof);
  if (size2 < size1) throw new ProofError(`size2 ${size2} is smaller than size1 ${size1}: trees only grow`);
  if (size1 === 0) throw new ProofError("a consistency proof from the empty tree is meaningless");
  if (size1 === size2) {
    if (proof.length > 0) throw new ProofError(`sizes are equal (${size1}) but the proof is not empty`);
    if (!(root1 instanceof Uint8Array && root2 instanceof Uint8Array && equalBytes(root1, root2))) {
      throw new ProofError(`sizes are equal (${size1}) but the roots differ`);
    }
    return;
  }
  if (proof.length === 0) throw new ProofError(`proof from size ${size1} to ${size2} is empty`);
  checkHash(root1, "root1");
  checkHash(root2, "root2");

  // The RFC's algorithm. When size1 is a power of two the old tree is a subtree of the new one and its
  // root is the first hash; otherwise the proof starts with the largest subtree ending at size1.
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : proof;
  let fn = size1 - 1;
  let sn = size2 - 1;
  // Climb to that first subtree: each set low bit of fn is a level where the old tree's last leaf is a right child.
  while (fn % 2 === 1) {
    fn = (fn - 1) / 2;
    sn = Math.floor(sn / 2);
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) throw new ProofError(`proof has ${proof.length} hashes, more than sizes ${size1} to ${size2} need`);
    if (fn % 2 === 1 || fn === sn) {
      // c is left of the path: part of both trees.
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2;
        sn = Math.floor(sn / 2);
      }
    } else {
      // c is right of the path: only in the new tree.
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw new ProofError(`proof has ${proof.length} hashes, fewer than sizes ${size1} to ${size2} need`);
  if (!equalBytes(fr, root1)) throw new ProofError(`proof does not lead to root1 of size ${size1}`);
  if (!equalBytes(sr, root2)) throw new ProofError(`proof does not lead to root2 of size ${size2}`);
}

// The RFC's k for a range of n >= 2 leaves: the largest power of two smaller than n.
function splitPoint(n: number): number {
  return 2 ** (bitLength(n - 1) - 1);
}

/** Number of bits needed to write n: 0 for 0. */
function bitLength(n: number): number {
  const high = Math.floor(n / 2 ** 32);
  return high > 0 ? 64 - Math.clz32(high) : 32 - Math.clz32(n);
}

/** Number of trailing zero bits of n; Infinity for 0, which is aligned at every level. */
function trailingZeros(n: number): number {
  if (n === 0) return Number.POSITIVE_INFINITY;
  let zeros = 0;
  for (; n % 2 === 0; n /= 2) zeros++;
  return zeros;
}

function popcount(n: number): number {
  let ones = 0;
  for (; n > 0; n = Math.floor(n / 2)) ones += n % 2;
  return ones;
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && 2 ** (bitLength(n) - 1) === n;
}

function isCount(n: unknown): n is number {
  return Number.isSafeInteger(n) && (n as number) >= 0;
}

function requireCount(n: number, what: string): void {
  if (!isCount(n)) throw new RangeError(`${what} must be an integer from 0 to 2^53 - 1, not ${String(n)}`);
}

function copyHash(hash: Hash, what: string): Hash {
  if (!(hash instanceof Uint8Array) || hash.length !== HASH_SIZE) {
    throw new RangeError(`${what} must be a ${HASH_SIZE}-byte Uint8Array`);
  }
  return hash.slice();
}

// The verifiers take input from outside (JSON, the network), so they check types too and refuse with ProofError.

function checkCount(n: number, what: string): void {
  if (!isCount(n)) throw new ProofError(`${what} must be an integer from 0 to 2^53 - 1, not ${String(n)}`);
}

function checkHash(hash: Hash, what: string): void {
  if (!(hash instanceof Uint8Array)) throw new ProofError(`${what} is not a byte array`);
  if (hash.length !== HASH_SIZE) throw new ProofError(`${what} has ${hash.length} bytes, not ${HASH_SIZE}`);
}

function checkProof(proof: readonly Hash[]): void {
  if (!Array.isArray(proof)) throw new ProofError("proof is not an array");
  for (const [i, hash] of proof.entries()) checkHash(hash, `proof[${i}]`);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
