import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  CompactRange,
  consistencyProofRanges,
  EMPTY_ROOT,
  foldSubtrees,
  HASH_SIZE,
  type Hash,
  inclusionProofRanges,
  type LeafRange,
  leafHash,
  type NodeId,
  nodeHash,
  ProofError,
  rangeSubtrees,
  verifyConsistency,
  verifyInclusion,
} from "../../src/lib/merkle.ts";
import { type ConsistencyVector, type InclusionVector, merkleVectors } from "../support/merkle-vectors.ts";

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
const fromHex = (text: string) => new Uint8Array(Buffer.from(text, "hex"));
const fromBase64 = (text: string) => new Uint8Array(Buffer.from(text, "base64"));
const hexList = (hashes: readonly Hash[]) => hashes.map(hex).join(",");
/** Whether two lists of hashes are equal; quicker than hexList in the loops over thousands of proofs. */
const sameHashes = (a: readonly Hash[], b: readonly Hash[]) =>
  a.length === b.length && a.every((hash, i) => Buffer.compare(hash, b[i]) === 0);

/** SHA-256 written out here, so the reference trees below don't rest on the code under test. */
function sha256(...parts: Uint8Array[]): Hash {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part);
  return new Uint8Array(hash.digest());
}
const refLeaf = (data: Uint8Array) => sha256(Uint8Array.of(0), data);
const refNode = (left: Hash, right: Hash) => sha256(Uint8Array.of(1), left, right);

/** RFC 6962's k: the largest power of two smaller than n (n >= 2). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** Whether verify() accepts; any error but ProofError fails the test. */
function accepts(verify: () => void): boolean {
  try {
    verify();
    return true;
  } catch (err) {
    if (err instanceof ProofError) return false;
    throw err;
  }
}

/** `hash` with one bit flipped. */
function flipBit(hash: Hash, bit: number): Hash {
  const flipped = hash.slice();
  flipped[Math.floor(bit / 8) % HASH_SIZE] ^= 1 << (bit % 8);
  return flipped;
}

/**
 * A tree over `leaves` (leaf hashes) with the RFC definitions written out directly: MTH, PATH and SUBPROOF
 * by recursion over absolute leaf positions (MTH memoized, which doesn't change what it computes).
 */
class ReferenceTree {
  readonly #leaves: readonly Hash[];
  readonly #memo = new Map<string, Hash>();

  constructor(leaves: readonly Hash[]) {
    this.#leaves = leaves;
  }

  mth(start: number, end: number): Hash {
    const n = end - start;
    if (n === 0) return sha256();
    if (n === 1) return this.#leaves[start];
    const key = `${start}:${end}`;
    let hash = this.#memo.get(key);
    if (!hash) {
      const k = split(n);
      hash = refNode(this.mth(start, start + k), this.mth(start + k, end));
      this.#memo.set(key, hash);
    }
    return hash;
  }

  root(size: number): Hash {
    return this.mth(0, size);
  }

  /** PATH(m, D[start:end]), m absolute. */
  path(m: number, start: number, end: number): Hash[] {
    if (end - start === 1) return [];
    const k = start + split(end - start);
    if (m < k) return [...this.path(m, start, k), this.mth(k, end)];
    return [...this.path(m, k, end), this.mth(start, k)];
  }

  /** PROOF(m, D[0:n]) through SUBPROOF(m, D[start:end], b), m absolute. */
  proof(m: number, n: number): Hash[] {
    return this.#subproof(m, 0, n, true);
  }

  #subproof(m: number, start: number, end: number, b: boolean): Hash[] {
    if (m === end) return b ? [] : [this.mth(start, end)];
    const k = start + split(end - start);
    if (m <= k) return [...this.#subproof(m, start, k, b), this.mth(k, end)];
    return [...this.#subproof(m, k, end, false), this.mth(start, k)];
  }
}

const RFC_LEAVES = [
  "",
  "00",
  "10",
  "2021",
  "3031",
  "40414243",
  "5051525354555657",
  "606162636465666768696a6b6c6d6e6f",
].map(fromHex);

describe("hashes", () => {
  it("are RFC 6962's, as plain 32-byte Uint8Arrays", () => {
    const data = new TextEncoder().encode("chaukas");
    expect(hex(leafHash(data))).toBe(hex(refLeaf(data)));
    const [a, b] = [refLeaf(Uint8Array.of(1)), refLeaf(Uint8Array.of(2))];
    expect(hex(nodeHash(a, b))).toBe(hex(refNode(a, b)));
    expect(hex(EMPTY_ROOT)).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    for (const hash of [leafHash(data), nodeHash(a, b), EMPTY_ROOT]) {
      expect(Object.getPrototypeOf(hash)).toBe(Uint8Array.prototype);
      expect(hash.length).toBe(HASH_SIZE);
    }
  });
});

describe("RFC 6962 test vectors (transparency-dev/merkle)", () => {
  const inclusion = merkleVectors<InclusionVector>("inclusion").map(([file, v]) => [`inclusion/${file}`, v] as const);
  const consistency = merkleVectors<ConsistencyVector>("consistency").map(
    ([file, v]) => [`consistency/${file}`, v] as const,
  );
  const proofOf = (proof: string[] | null) => (proof ?? []).map(fromBase64);

  it("are all there, edge cases included", () => {
    expect(inclusion).toHaveLength(98);
    expect(consistency).toHaveLength(98);
    const names = [...inclusion, ...consistency].map(([name]) => name);
    expect(names.filter((name) => name.includes("/additional/")).length).toBe(26);
    expect(names.filter((name) => name.includes("/single-entry/")).length).toBe(4);
  });

  // Fields pass through as JSON gives them, corrupt ones too (2^64 - 1 becomes an unsafe number).
  it.each(inclusion)("%s", (_, v) => {
    const verify = () =>
      verifyInclusion(fromBase64(v.leafHash), v.leafIdx, v.treeSize, proofOf(v.proof), fromBase64(v.root));
    expect(accepts(verify), v.desc).toBe(!v.wantErr);
  });

  it.each(consistency)("%s", (_, v) => {
    const verify = () =>
      verifyConsistency(v.size1, v.size2, proofOf(v.proof), fromBase64(v.root1), fromBase64(v.root2));
    expect(accepts(verify), v.desc).toBe(!v.wantErr);
  });

  it("come from the RFC 6962 test leaves, and our proofs for that tree are theirs", () => {
    const leaves = RFC_LEAVES.map(leafHash);
    const tree = new ReferenceTree(leaves);
    const range = CompactRange.empty();
    const roots = [range.root()];
    for (const leaf of leaves) {
      range.append(leaf);
      roots.push(range.root());
    }
    expect(roots.map(hex)).toEqual(Array.from({ length: 9 }, (_, n) => hex(tree.root(n))));
    expect(hex(roots[8])).toBe("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328");
    const proofFor = (ranges: LeafRange[]) => ranges.map((r) => tree.mth(r.start, r.end));

    const happy = (name: string) => name.endsWith("/happy-path.json");
    const inclusionHappy = inclusion.filter(([name]) => happy(name));
    expect(inclusionHappy.length).toBeGreaterThanOrEqual(5);
    for (const [, v] of inclusionHappy) {
      expect(v.root).toBe(Buffer.from(roots[v.treeSize]).toString("base64"));
      expect(v.leafHash).toBe(Buffer.from(leaves[v.leafIdx]).toString("base64"));
      expect(hexList(proofFor(inclusionProofRanges(v.leafIdx, v.treeSize)))).toBe(hexList(proofOf(v.proof)));
    }
    const consistencyHappy = consistency.filter(([name]) => happy(name));
    expect(consistencyHappy.length).toBeGreaterThanOrEqual(5);
    for (const [, v] of consistencyHappy) {
      expect(v.root1).toBe(Buffer.from(roots[v.size1]).toString("base64"));
      expect(v.root2).toBe(Buffer.from(roots[v.size2]).toString("base64"));
      expect(hexList(proofFor(consistencyProofRanges(v.size1, v.size2)))).toBe(hexList(proofOf(v.proof)));
    }
  });
});

describe("trees of 1 to 300 leaves against the RFC definitions", () => {
  const MAX = 300;
  const leaves = Array.from({ length: MAX }, (_, i) => refLeaf(new TextEncoder().encode(`event ${i}`)));
  const tree = new ReferenceTree(leaves);

  // Built once, as the server does: append every leaf, keeping what onNode reports.
  const range = CompactRange.empty();
  const stored = new Map<string, Hash>();
  const reported: [NodeId, Hash][][] = [];
  const roots: Hash[] = [range.root()];
  const hashesAt: (readonly Hash[])[] = [range.hashes];
  for (const leaf of leaves) {
    const nodes: [NodeId, Hash][] = [];
    range.append(leaf, (id, hash) => {
      nodes.push([id, hash]);
      stored.set(`${id.level}/${id.index}`, hash);
    });
    reported.push(nodes);
    roots.push(range.root());
    hashesAt.push(range.hashes);
  }

  /** A subtree's hash as the server gets it: leaves from the leaf table, the rest from what onNode stored. */
  function subtreeHash(id: NodeId): Hash {
    const hash = id.level === 0 ? leaves[id.index] : stored.get(`${id.level}/${id.index}`);
    if (!hash) throw new Error(`subtree ${id.level}/${id.index} was never reported`);
    return hash;
  }
  const assemble = (ranges: LeafRange[]) => ranges.map((r) => foldSubtrees(rangeSubtrees(r).map(subtreeHash)));

  // Checking every corruption of every proof would take long, so bigger trees get a sample.
  const every = (n: number) => Array.from({ length: n }, (_, i) => i);
  /** Deterministic sample of [0, n): the ends, the middle, the powers of two if asked, and `more` pseudo-random picks. */
  function sample(n: number, more: number, powersOfTwo = false): Set<number> {
    const picks = new Set([0, n >> 1, n - 1]);
    for (let p = 1; powersOfTwo && p < n; p *= 2) picks.add(p);
    let x = n;
    for (let j = 0; j < more; j++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      picks.add(x % n);
    }
    return picks;
  }

  it("CompactRange: root() is MTH at every size, and its hashes are those of [0, size)'s subtrees", () => {
    expect(range.size).toBe(MAX);
    const failures: string[] = [];
    for (let n = 0; n <= MAX; n++) {
      if (hex(roots[n]) !== hex(tree.root(n))) failures.push(`root of ${n}`);
      const ids = rangeSubtrees({ start: 0, end: n });
      const expected = ids.map((id) => tree.mth(id.index * 2 ** id.level, (id.index + 1) * 2 ** id.level));
      if (!sameHashes(hashesAt[n], expected)) failures.push(`hashes of ${n}`);
      if (hex(new CompactRange(n, hashesAt[n]).root()) !== hex(roots[n])) failures.push(`rebuilt ${n}`);
    }
    expect(failures).toEqual([]);
  });

  it("onNode reports exactly the perfect subtrees each append completes, smallest first, with their hashes", () => {
    for (let s = 0; s < MAX; s++) {
      // Leaf s completes the subtrees of level >= 1 that end at s + 1.
      const expected: [NodeId, string][] = [];
      for (let level = 1; (s + 1) % 2 ** level === 0; level++) {
        const index = (s + 1) / 2 ** level - 1;
        expected.push([{ level, index }, hex(tree.mth(index * 2 ** level, (index + 1) * 2 ** level))]);
      }
      expect(reported[s].map(([id, hash]) => [id, hex(hash)])).toEqual(expected);
    }
    expect(stored.size).toBe(MAX - 4); // Every perfect subtree of level >= 1 inside [0, 300): 300 - popcount(300).
  });

  it("proof ranges split into left-to-right, shrinking subtrees that exactly cover them", () => {
    const failures: string[] = [];
    const check = (r: LeafRange, what: string) => {
      let at = r.start;
      let previous = Number.POSITIVE_INFINITY;
      for (const id of rangeSubtrees(r)) {
        const width = 2 ** id.level;
        if (id.index * width !== at || id.level >= previous) failures.push(`${what}: [${r.start}, ${r.end})`);
        at += width;
        previous = id.level;
      }
      if (at !== r.end || r.end <= r.start) failures.push(`${what}: [${r.start}, ${r.end}) not covered`);
    };
    for (let n = 1; n <= MAX; n++) {
      for (let i = 0; i < n; i++) for (const r of inclusionProofRanges(i, n)) check(r, `inclusion ${i} of ${n}`);
      for (let m = 1; m <= n; m++) for (const r of consistencyProofRanges(m, n)) check(r, `consistency ${m} to ${n}`);
    }
    expect(failures.slice(0, 20)).toEqual([]);
  });

  it("inclusion: every leaf's proof assembled from stored subtrees is PATH and verifies; corrupted, it doesn't", () => {
    const failures: string[] = [];
    const fail = (what: string) => failures.length < 50 && failures.push(what);
    const valid = (i: number, n: number, proof: Hash[]) => n <= MAX && i < n && sameHashes(tree.path(i, 0, n), proof);
    for (let n = 1; n <= MAX; n++) {
      const root = roots[n];
      const corruptSome = new Set(n <= 64 ? every(n) : sample(n, 1));
      for (let i = 0; i < n; i++) {
        const proof = assemble(inclusionProofRanges(i, n));
        const what = `leaf ${i} of ${n}`;
        if (!sameHashes(proof, tree.path(i, 0, n))) fail(`${what}: not PATH`);
        if (!accepts(() => verifyInclusion(leaves[i], i, n, proof, root))) fail(`${what}: refused`);
        if (!corruptSome.has(i)) continue;

        const refuse = (why: string, leaf: Hash, index: number, size: number, p: Hash[], r: Hash) => {
          if (accepts(() => verifyInclusion(leaf, index, size, p, r))) fail(`${what}: accepted ${why}`);
        };
        proof.forEach((_, j) => {
          const flipped = proof.with(j, flipBit(proof[j], 8 * j + i + n));
          refuse(`flipped bit in [${j}]`, leaves[i], i, n, flipped, root);
          refuse(`dropped [${j}]`, leaves[i], i, n, proof.toSpliced(j, 1), root);
        });
        refuse("extra hash at end", leaves[i], i, n, [...proof, root], root);
        refuse("extra hash in front", leaves[i], i, n, [leaves[i], ...proof], root);
        refuse("flipped leaf bit", flipBit(leaves[i], i), i, n, proof, root);
        refuse("flipped root bit", leaves[i], i, n, proof, flipBit(root, n));
        for (const j of [i - 1, i + 1, i ^ 2, n - 1]) {
          if (j !== i && j >= 0 && j < n) {
            refuse(`index ${j}`, leaves[i], j, n, proof, root);
            refuse(`leaf ${j}`, leaves[j], i, n, proof, root);
          }
        }
        // With the right root for the wrong size: only valid if it happens to be that size's PATH too.
        for (const m of [n - 1, n + 1, n * 2, n >> 1]) {
          if (m !== n && m >= 1 && m <= MAX && !valid(i, m, proof)) {
            refuse(`size ${m}`, leaves[i], i, m, proof, roots[m]);
          }
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it("consistency: proofs assembled from stored subtrees are PROOF and verify; corrupted, they don't", () => {
    const failures: string[] = [];
    const fail = (what: string) => failures.length < 50 && failures.push(what);
    // Whether `proof` with the roots of size1 and size2 is in fact correct.
    const valid = (m: number, n: number, proof: Hash[]) =>
      m >= 1 && m <= n && n <= MAX && sameHashes(tree.proof(m, n), proof);
    for (let n = 1; n <= MAX; n++) {
      const corruptSome = new Set(n <= 48 ? every(n + 1) : sample(n + 1, 1));
      for (const m of n <= 64 ? every(n + 1) : [...sample(n + 1, 10, true)].sort((a, b) => a - b)) {
        if (m === 0) continue;
        const proof = assemble(consistencyProofRanges(m, n));
        const what = `${m} to ${n}`;
        if (!sameHashes(proof, tree.proof(m, n))) fail(`${what}: not PROOF`);
        if (!accepts(() => verifyConsistency(m, n, proof, roots[m], roots[n]))) fail(`${what}: refused`);
        if (!corruptSome.has(m)) continue;

        const refuse = (why: string, size1: number, size2: number, p: Hash[], root1: Hash, root2: Hash) => {
          if (accepts(() => verifyConsistency(size1, size2, p, root1, root2))) fail(`${what}: accepted ${why}`);
        };
        proof.forEach((_, j) => {
          const flipped = proof.with(j, flipBit(proof[j], 8 * j + m + n));
          refuse(`flipped bit in [${j}]`, m, n, flipped, roots[m], roots[n]);
          refuse(`dropped [${j}]`, m, n, proof.toSpliced(j, 1), roots[m], roots[n]);
        });
        refuse("extra hash at end", m, n, [...proof, roots[m]], roots[m], roots[n]);
        refuse("extra hash in front", m, n, [roots[m], ...proof], roots[m], roots[n]);
        refuse("flipped root1 bit", m, n, proof, flipBit(roots[m], n), roots[n]);
        refuse("flipped root2 bit", m, n, proof, roots[m], flipBit(roots[n], m));
        if (m !== n) refuse("swapped roots", m, n, proof, roots[n], roots[m]);
        // With the right roots for the wrong sizes: only valid if it happens to be their PROOF too.
        for (const m2 of [m - 1, m + 1, m ^ 2]) {
          if (m2 !== m && m2 >= 0 && m2 <= MAX && !valid(m2, n, proof)) {
            refuse(`size1 ${m2}`, m2, n, proof, roots[m2], roots[n]);
          }
        }
        for (const n2 of [n - 1, n + 1, n * 2, n >> 1]) {
          if (n2 !== n && n2 >= 0 && n2 <= MAX && !valid(m, n2, proof)) {
            refuse(`size2 ${n2}`, m, n2, proof, roots[m], roots[n2]);
          }
        }
      }
    }
    expect(failures).toEqual([]);
  });
});

describe("sizes up to 2^53 - 1", () => {
  // A tree whose leaves all hash alike has one hash per subtree size, so trees of any size are cheap to
  // compute. It can't catch a wrong index (every leaf looks the same), but it does check the arithmetic
  // on numbers past 32 bits against the RFC recursion.
  const leaf = refLeaf(new TextEncoder().encode("same"));
  const perfect = [leaf];
  for (let level = 1; level <= 53; level++) perfect.push(refNode(perfect[level - 1], perfect[level - 1]));
  const memo = new Map<number, Hash>();
  function mthOf(n: number): Hash {
    if (n === 1) return leaf;
    let hash = memo.get(n);
    if (!hash) {
      const k = split(n);
      hash = k * 2 === n ? perfect[Math.log2(n)] : refNode(mthOf(k), mthOf(n - k));
      memo.set(n, hash);
    }
    return hash;
  }
  const assemble = (ranges: LeafRange[]) =>
    ranges.map((r) => {
      const hash = foldSubtrees(rangeSubtrees(r).map((id) => perfect[id.level]));
      expect(hex(hash)).toBe(hex(mthOf(r.end - r.start)));
      return hash;
    });
  const MAX = Number.MAX_SAFE_INTEGER;
  const sizes = [2, 3, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 33 + 5, 2 ** 52, 2 ** 52 + 3, MAX - 1, MAX];

  it("inclusion proofs verify, with the RFC's number of hashes", () => {
    for (const n of sizes) {
      for (const i of [0, 1, 2 ** 31 - 1, 2 ** 32 - 1, 2 ** 32, Math.floor(n / 3), n - 2, n - 1]) {
        if (i < 0 || i >= n) continue;
        const proof = assemble(inclusionProofRanges(i, n));
        // At most one hash per level below the root: ceil(log2(n)), the bit length of n - 1.
        expect(proof.length).toBeLessThanOrEqual((n - 1).toString(2).length);
        verifyInclusion(leaf, i, n, proof, mthOf(n));
        expect(accepts(() => verifyInclusion(leaf, i, n, proof.slice(1), mthOf(n)))).toBe(false);
        expect(accepts(() => verifyInclusion(leaf, i, n, [...proof, leaf], mthOf(n)))).toBe(false);
        expect(
          accepts(() => verifyInclusion(leaf, i, n, proof.with(-1, flipBit(proof.at(-1) ?? leaf, 3)), mthOf(n))),
        ).toBe(false);
      }
    }
  });

  it("consistency proofs verify", () => {
    for (const n of sizes) {
      for (const m of [1, 2, 3, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, Math.floor(n / 2), n - 1, n]) {
        if (m < 1 || m > n) continue;
        const proof = assemble(consistencyProofRanges(m, n));
        verifyConsistency(m, n, proof, mthOf(m), mthOf(n));
        if (m === n) continue;
        expect(accepts(() => verifyConsistency(m, n, proof.slice(0, -1), mthOf(m), mthOf(n)))).toBe(false);
        expect(accepts(() => verifyConsistency(m, n, [...proof, leaf], mthOf(m), mthOf(n)))).toBe(false);
        expect(accepts(() => verifyConsistency(m, n, proof.with(0, flipBit(proof[0], 5)), mthOf(m), mthOf(n)))).toBe(
          false,
        );
      }
    }
  });

  it("CompactRange appends across 2^32 and stops at 2^53 - 1", () => {
    const below32 = new CompactRange(2 ** 32 - 1, perfect.slice(0, 32).reverse());
    expect(hex(below32.root())).toBe(hex(mthOf(2 ** 32 - 1)));
    const nodes: [NodeId, string][] = [];
    below32.append(leaf, (id, hash) => nodes.push([id, hex(hash)]));
    // Leaf 2^32 - 1 completes the last subtree of each level up to 32.
    const completed = perfect.slice(1, 33).map((hash, i) => [{ level: i + 1, index: 2 ** (31 - i) - 1 }, hex(hash)]);
    expect(nodes).toEqual(completed);
    expect(below32.size).toBe(2 ** 32);
    expect(below32.hashes.map(hex)).toEqual([hex(perfect[32])]);
    below32.append(leaf, () => expect.unreachable());
    expect(hex(below32.root())).toBe(hex(mthOf(2 ** 32 + 1)));

    const almostFull = new CompactRange(MAX - 1, perfect.slice(1, 53).reverse());
    almostFull.append(leaf, () => expect.unreachable());
    expect(almostFull.size).toBe(MAX);
    expect(hex(almostFull.root())).toBe(hex(mthOf(MAX)));
    expect(() => almostFull.append(leaf)).toThrow(RangeError);
    expect(almostFull.size).toBe(MAX);
    expect(rangeSubtrees({ start: 0, end: MAX }).map((id) => id.level)).toEqual(
      Array.from({ length: 53 }, (_, i) => 52 - i),
    );
  });
});

describe("CompactRange", () => {
  const a = leafHash(Uint8Array.of(1));

  it("checks what it is built from", () => {
    expect(() => new CompactRange(3, [a])).toThrow(RangeError);
    expect(() => new CompactRange(1, [a, a])).toThrow(RangeError);
    expect(() => new CompactRange(1, [a.subarray(1)])).toThrow(RangeError);
    expect(() => new CompactRange(-1, [])).toThrow(RangeError);
    expect(() => new CompactRange(1.5, [a])).toThrow(RangeError);
    expect(() => new CompactRange(2 ** 53, [a])).toThrow(RangeError);
    expect(() => CompactRange.empty().append(a.subarray(1))).toThrow(RangeError);
    expect(CompactRange.empty().size).toBe(0);
    expect(hex(CompactRange.empty().root())).toBe(hex(EMPTY_ROOT));
  });

  it("is unchanged when onNode throws", () => {
    const range = new CompactRange(1, [a]);
    expect(() =>
      range.append(a, () => {
        throw new Error("storage failed");
      }),
    ).toThrow("storage failed");
    expect(range.size).toBe(1);
    expect(range.hashes.map(hex)).toEqual([hex(a)]);
  });

  it("keeps its own copies of the hashes it is given and hands to onNode", () => {
    const given = a.slice();
    const range = new CompactRange(1, [given]);
    given.fill(0);
    const merged = a.slice();
    const handedOut: Hash[] = [];
    range.append(merged, (_, hash) => handedOut.push(hash));
    const kept = a.slice(); // at an even size, a leaf is kept as it is
    range.append(kept);
    for (const hash of [merged, kept, ...handedOut]) hash.fill(0);
    expect(handedOut).toHaveLength(1);
    expect(hex(range.root())).toBe(hex(refNode(refNode(a, a), a)));
  });

  it("hands out frozen hashes that later appends leave as they were", () => {
    const range = CompactRange.empty();
    range.append(a);
    const atOne = range.hashes;
    expect(range.hashes).toBe(atOne); // one copy per size, however often it is read
    range.append(a);
    range.append(a);
    expect(Object.isFrozen(atOne)).toBe(true);
    expect(atOne.map(hex)).toEqual([hex(a)]);
    expect(range.hashes.map(hex)).toEqual([hex(refNode(a, a)), hex(a)]);
    expect(range.hashes).not.toBe(atOne);
  });
});

describe("proof ranges", () => {
  it("match RFC 9162's examples", () => {
    // RFC 9162 2.1.5: the 7-leaf tree.
    const r = (start: number, end: number) => ({ start, end });
    expect(inclusionProofRanges(0, 7)).toEqual([r(1, 2), r(2, 4), r(4, 7)]);
    expect(inclusionProofRanges(3, 7)).toEqual([r(2, 3), r(0, 2), r(4, 7)]);
    expect(inclusionProofRanges(4, 7)).toEqual([r(5, 6), r(6, 7), r(0, 4)]);
    expect(inclusionProofRanges(6, 7)).toEqual([r(4, 6), r(0, 4)]);
    expect(inclusionProofRanges(0, 1)).toEqual([]);
    expect(consistencyProofRanges(3, 7)).toEqual([r(2, 3), r(3, 4), r(0, 2), r(4, 7)]);
    expect(consistencyProofRanges(4, 7)).toEqual([r(4, 7)]);
    expect(consistencyProofRanges(6, 7)).toEqual([r(4, 6), r(6, 7), r(0, 4)]);
    expect(consistencyProofRanges(7, 7)).toEqual([]);
    expect(consistencyProofRanges(0, 7)).toEqual([]);
  });

  it("refuse impossible arguments with RangeError", () => {
    for (const [index, size] of [
      [0, 0],
      [5, 5],
      [-1, 5],
      [0.5, 5],
      [0, 2 ** 53],
      [Number.NaN, 5],
    ]) {
      expect(() => inclusionProofRanges(index, size)).toThrow(RangeError);
    }
    expect(() => consistencyProofRanges(3, 2)).toThrow(RangeError);
    expect(() => consistencyProofRanges(-1, 2)).toThrow(RangeError);
    expect(() => rangeSubtrees({ start: 3, end: 2 })).toThrow(RangeError);
  });

  it("rangeSubtrees splits any range into aligned subtrees, and foldSubtrees folds from the right", () => {
    expect(rangeSubtrees({ start: 5, end: 5 })).toEqual([]);
    expect(rangeSubtrees({ start: 3, end: 9 })).toEqual([
      { level: 0, index: 3 },
      { level: 2, index: 1 },
      { level: 0, index: 8 },
    ]);
    expect(rangeSubtrees({ start: 8, end: 15 })).toEqual([
      { level: 2, index: 2 },
      { level: 1, index: 6 },
      { level: 0, index: 14 },
    ]);
    const [x, y, z] = [1, 2, 3].map((i) => leafHash(Uint8Array.of(i)));
    expect(hex(foldSubtrees([x, y, z]))).toBe(hex(refNode(x, refNode(y, z))));
    expect(hex(foldSubtrees([x]))).toBe(hex(x));
    expect(hex(foldSubtrees([]))).toBe(hex(EMPTY_ROOT));
  });
});

describe("verifiers", () => {
  const leaves = Array.from({ length: 5 }, (_, i) => leafHash(Uint8Array.of(i)));
  const tree = new ReferenceTree(leaves);
  const proof = tree.path(2, 0, 5);
  const root = tree.root(5);
  const consistency = tree.proof(3, 5);

  it("refuse sizes and indexes that aren't non-negative safe integers with ProofError", () => {
    const bad = [-1, -0.5, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, 2 ** 64, undefined, null, "2", 2n];
    for (const value of bad) {
      const n = value as number;
      expect(() => verifyInclusion(leaves[2], n, 5, proof, root)).toThrow(ProofError);
      expect(() => verifyInclusion(leaves[2], 2, n, proof, root)).toThrow(ProofError);
      expect(() => verifyConsistency(n, 5, consistency, tree.root(3), root)).toThrow(ProofError);
      expect(() => verifyConsistency(3, n, consistency, tree.root(3), root)).toThrow(ProofError);
    }
    verifyInclusion(leaves[2], 2, 5, proof, root);
    verifyConsistency(3, 5, consistency, tree.root(3), root);
  });

  it("refuse malformed hashes and proofs with ProofError", () => {
    const short = root.subarray(1);
    const notBytes = "x".repeat(32) as unknown as Hash;
    expect(() => verifyInclusion(short, 2, 5, proof, root)).toThrow(ProofError);
    expect(() => verifyInclusion(leaves[2], 2, 5, proof, short)).toThrow(ProofError);
    expect(() => verifyInclusion(notBytes, 2, 5, proof, root)).toThrow(ProofError);
    expect(() => verifyInclusion(leaves[2], 2, 5, null as unknown as Hash[], root)).toThrow(ProofError);
    expect(() => verifyInclusion(leaves[2], 2, 5, proof.with(1, short), root)).toThrow(ProofError);
    expect(() => verifyConsistency(3, 5, consistency.with(0, short), tree.root(3), root)).toThrow(ProofError);
    expect(() => verifyConsistency(3, 5, consistency, short, root)).toThrow(ProofError);
    expect(() => verifyConsistency(3, 3, [], notBytes, notBytes)).toThrow(ProofError);
  });

  it("follow transparency-dev/merkle on the edge cases", () => {
    const r3 = tree.root(3);
    verifyConsistency(3, 3, [], r3, r3.slice());
    expect(() => verifyConsistency(3, 3, [], r3, root)).toThrow(/roots differ/);
    expect(() => verifyConsistency(3, 3, [r3], r3, r3)).toThrow(/not empty/);
    expect(() => verifyConsistency(0, 5, [], EMPTY_ROOT, root)).toThrow(/empty tree/);
    expect(() => verifyConsistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT)).toThrow(/empty tree/);
    expect(() => verifyConsistency(5, 3, [], root, r3)).toThrow(ProofError);
    expect(() => verifyConsistency(3, 5, [], r3, root)).toThrow(/empty/);
    expect(() => verifyInclusion(leaves[0], 0, 0, [], EMPTY_ROOT)).toThrow(/not in a tree/);
    verifyInclusion(leaves[0], 0, 1, [], leaves[0]);
  });

  it("say when a proof is too long or too short", () => {
    expect(() => verifyInclusion(leaves[2], 2, 5, [...proof, root], root)).toThrow(/more than/);
    expect(() => verifyInclusion(leaves[2], 2, 5, proof.slice(1), root)).toThrow(/fewer than/);
    expect(() => verifyConsistency(3, 5, [...consistency, root], tree.root(3), root)).toThrow(/more than/);
    expect(() => verifyConsistency(3, 5, consistency.slice(1), tree.root(3), root)).toThrow(/fewer than/);
  });
});
