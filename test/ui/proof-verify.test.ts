import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditService } from "../../gen/chaukas/backend/v1/audit_pb.ts";
import { ChaukasServerService } from "../../gen/chaukas/spec/server/v1/server_pb.ts";
import { leafHash, verifyInclusion } from "../../src/lib/merkle.ts";
import { fromBase64 } from "../../ui/src/proof/bytes.ts";
import { contentHashOf } from "../../ui/src/proof/content-hash.ts";
import { provesInclusion } from "../../ui/src/proof/merkle.ts";
import { openCheckpoint, parseVerifierKey } from "../../ui/src/proof/signed-note.ts";
import { verifyInclusionProof } from "../../ui/src/proof/verify.ts";
import { testSigner } from "../support/audit.ts";
import { fullEvent, makeEvent } from "../support/events.ts";
import { type InclusionVector, merkleVectors } from "../support/merkle-vectors.ts";
import { QueryClient } from "../support/query-client.ts";
import { startTestServer, type TestServer } from "../support/server.ts";

/** The page's own proof checks (ui/src/proof), against published vectors and the server's answers. */

const base64 = (text: string) => fromBase64(text) ?? new Uint8Array(Buffer.from(text, "base64"));
const vectors = merkleVectors<InclusionVector>("inclusion");

describe("the page's RFC 9162 inclusion check", () => {
  it("has the transparency-dev vectors", () => expect(vectors).toHaveLength(98));

  it.each(vectors)("%s", async (_, v) => {
    const proves = await provesInclusion(
      BigInt(v.leafIdx),
      BigInt(v.treeSize),
      base64(v.leafHash),
      (v.proof ?? []).map(base64),
      base64(v.root),
    );
    expect(proves, v.desc).toBe(!v.wantErr);
  });

  it("agrees with the server's Merkle code on every leaf of trees of 1 to 33 leaves", async () => {
    const { CompactRange, inclusionProofRanges, rangeSubtrees, foldSubtrees } = await import("../../src/lib/merkle.ts");
    for (let size = 1; size <= 33; size++) {
      const leaves = Array.from({ length: size }, (_, i) => leafHash(Uint8Array.of(i, size)));
      const range = CompactRange.empty();
      for (const leaf of leaves) range.append(leaf);
      const root = range.root();
      // A subtree's hash from its leaves, as the server's store would give it.
      const hashOfRange = (start: number, end: number) =>
        foldSubtrees(
          rangeSubtrees({ start, end }).map(({ level, index }) => {
            const range = CompactRange.empty();
            for (const leaf of leaves.slice(index * 2 ** level, (index + 1) * 2 ** level)) range.append(leaf);
            return range.root();
          }),
        );
      for (let index = 0; index < size; index++) {
        const proof = inclusionProofRanges(index, size).map(({ start, end }) => hashOfRange(start, end));
        expect(() => verifyInclusion(leaves[index], index, size, proof, root)).not.toThrow();
        expect(await provesInclusion(BigInt(index), BigInt(size), leaves[index], proof, root)).toBe(true);
        if (size > 1)
          expect(await provesInclusion(BigInt((index + 1) % size), BigInt(size), leaves[index], proof, root)).toBe(
            false,
          );
      }
    }
  });
});

describe("the page's signed-note check", () => {
  const signer = testSigner();
  const note = signer.sign({ origin: "chaukas.test/acme", size: 5n, rootHash: new Uint8Array(32).fill(7) });

  it("opens a checkpoint the server's signer signed, with its verifier key", async () => {
    const checkpoint = await openCheckpoint(note, await parseVerifierKey(signer.verifierKey));
    expect(checkpoint).toEqual({ origin: "chaukas.test/acme", size: 5n, rootHash: new Uint8Array(32).fill(7) });
  });

  it("refuses another key, an altered body, an altered signature and a key whose id is not its own", async () => {
    const other = await parseVerifierKey(testSigner().verifierKey);
    await expect(openCheckpoint(note, other)).rejects.toThrow("has no signature by chaukas.test");
    const key = await parseVerifierKey(signer.verifierKey);
    await expect(openCheckpoint(note.replace("\n5\n", "\n6\n"), key)).rejects.toThrow("does not verify");
    const [body, signature] = note.split("\u2014 chaukas.test ");
    const flipped = Buffer.from(signature, "base64");
    flipped[10] ^= 1;
    await expect(openCheckpoint(`${body}\u2014 chaukas.test ${flipped.toString("base64")}\n`, key)).rejects.toThrow(
      "does not verify",
    );
    // The base64 key may itself hold "+": only the first two separate fields.
    const [name, id] = signer.verifierKey.split("+", 2);
    const typed = signer.verifierKey.slice(`${name}+${id}+`.length);
    await expect(parseVerifierKey(`${name}+00000000+${typed}`)).rejects.toThrow("id does not match");
  });
});

describe("the page's verdict on the server's own proofs", () => {
  let server: TestServer;
  let query: QueryClient;
  beforeAll(async () => {
    server = await startTestServer("embedded");
    query = new QueryClient(server.baseUrl);
  });
  afterAll(async () => {
    query.close();
    await server.close();
  });

  it("verifies every event in the checkpoint its worm_proof_id names, recomputes content hashes, and refuses tampering", async () => {
    const transport = createConnectTransport({ baseUrl: server.baseUrl, httpVersion: "1.1" });
    const audit = createClient(AuditService, transport);
    const ingest = createClient(ChaukasServerService, transport);
    const sent = [
      fullEvent({ case: "toolCall", value: { id: "t1", name: "search", arguments: { b: 1, a: [true, "x"], é: {} } } }),
      ...Array.from({ length: 6 }, (_, i) => makeEvent({ sessionId: "proofs", eventId: `proof-${i}` })),
    ].map((event) => Object.assign(event, { sessionId: "proofs", tenantId: "acme" }));
    await ingest.ingestEventBatch({ eventBatch: { events: sent } });
    await server.audit.integrateAndSign();
    const { verifierKey } = await audit.getPublicKey({});

    const stored = await query.all({ tenantId: "acme", sessionId: "proofs" });
    expect(stored).toHaveLength(sent.length);
    for (const event of stored) {
      expect(event.wormProofId).toBe(`checkpoint/${sent.length}`);
      expect(await contentHashOf(event)).toBe(event.contentHash);
      const answer = await audit.getInclusionProof({ tenantId: "acme", eventId: event.eventId, treeSize: 7n });
      const verdict = await verifyInclusionProof(answer, verifierKey, event.contentHash);
      expect(verdict).toMatchObject({ verified: true, checkpointSize: 7n, origin: "chaukas.test/acme" });
    }

    const answer = await audit.getInclusionProof({ tenantId: "acme", eventId: stored[2].eventId, treeSize: 7n });
    const refused = async (reason: string, change: (copy: typeof answer) => void, key = verifierKey) => {
      const copy = structuredClone(answer);
      change(copy);
      expect(await verifyInclusionProof(copy, key, stored[2].contentHash)).toEqual({ verified: false, reason });
    };
    await refused("the proof does not lead to the signed root", (copy) => {
      copy.proof[0][0] ^= 1;
    });
    await refused("the proof is for another content hash than the event's", (copy) => {
      copy.contentHash = stored[3].contentHash;
    });
    await refused("the answer's checkpoint is not the one its note signs", (copy) => {
      if (copy.checkpoint) copy.checkpoint.size = 6n;
    });
    await refused("the note has no signature by chaukas.test", () => {}, testSigner().verifierKey);
    const altered = structuredClone(stored[2]);
    altered.agentName = "someone else";
    expect(await contentHashOf(altered)).not.toBe(stored[2].contentHash);
  });
});
