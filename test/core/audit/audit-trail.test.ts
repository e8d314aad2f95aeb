import { createHash } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventSchema } from "../../../gen/chaukas/spec/common/v1/events_pb.ts";
import { QueryRequestSchema } from "../../../gen/chaukas/spec/common/v1/query_pb.ts";
import { Random } from "../../../kit/random.ts";
import { eventService } from "../../../src/app.ts";
import { type Principal, UNRESTRICTED } from "../../../src/core/access.ts";
import type { AuditTrail } from "../../../src/core/audit/audit-trail.ts";
import { openCheckpoint } from "../../../src/core/audit/checkpoint.ts";
import { fromStoredEvent } from "../../../src/core/event-record.ts";
import type { EventService } from "../../../src/core/event-service.ts";
import {
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
} from "../../../src/lib/errors.ts";
import { leafHash, verifyConsistency, verifyInclusion } from "../../../src/lib/merkle.ts";
import type { Database } from "../../../src/store/database.ts";
import { testAuditTrail, testSigner } from "../../support/audit.ts";
import { openTestStore, storeKinds } from "../../support/databases.ts";
import { makeEvent } from "../../support/events.ts";

/** Checkpoints and proofs served by the AuditTrail from a real store, checked by the RFC 9162 verifiers. */

const key = (tenantId: string, projects: string[] = []): Principal => ({
  kind: "key",
  keyId: "k1",
  tenantId,
  role: "read",
  projects,
});

describe.each(await storeKinds())("AuditTrail on the %s store", (kind) => {
  const signer = testSigner();
  let store: Database;
  let close: () => Promise<void>;
  let trail: AuditTrail;
  let events: EventService;

  beforeAll(async () => {
    ({ store, close } = await openTestStore(kind));
    trail = testAuditTrail(store, signer);
    events = eventService(store);
  });
  afterAll(() => close());

  /** Opens a served checkpoint with the signer's public key, as an auditor would. */
  const opened = (note: string) => openCheckpoint(note, signer.verifierKey);

  // merkle.test.ts checks every proof shape in memory; this one checks that the store serves the right
  // subtrees, so it walks every size but samples leaves past small trees. Some 3,500 round trips: on a
  // shared 2-core machine running the whole suite, that can take longer than the default timeout.
  it("serves proofs that verify for every tree size from 1 to 300", { timeout: 120_000 }, async () => {
    const tenant = "grow";
    const random = new Random(7);
    const ids: string[] = [];
    for (let size = 1; size <= 300; size++) {
      ids.push(`e${size - 1}`);
      await events.ingestEvent(UNRESTRICTED, makeEvent({ tenantId: tenant, eventId: ids.at(-1) }));
      const signed = await trail.integrateAndSign();
      expect(signed.map((c) => [c.tenantId, c.size])).toEqual([[tenant, BigInt(size)]]);
    }
    for (let size = 1; size <= 300; size++) {
      const checkpoint = opened((await trail.checkpoint(UNRESTRICTED, tenant, BigInt(size))).note);
      expect(checkpoint).toMatchObject({ origin: `${signer.name}/${tenant}`, size: BigInt(size) });
      const leaves =
        size <= 24 ? [...Array(size).keys()] : [0, size - 1, size >> 1, random.int(size), random.int(size)];
      for (const index of leaves) {
        const proof = await trail.inclusionProof(UNRESTRICTED, tenant, ids[index], BigInt(size));
        expect(proof.leafIndex).toBe(BigInt(index));
        expect(() => verifyInclusion(proof.leafHash, index, size, proof.proof, checkpoint.rootHash)).not.toThrow();
      }
      const earlier = size <= 16 ? [...Array(size).keys()].map((i) => i + 1) : [1, size - 1, random.int(size - 1) + 1];
      for (const from of earlier) {
        const proof = await trail.consistencyProof(UNRESTRICTED, tenant, BigInt(from), BigInt(size));
        const older = opened(proof.from.note);
        expect(() => verifyConsistency(from, size, proof.proof, older.rootHash, checkpoint.rootHash)).not.toThrow();
      }
    }
  });

  it("hashes each event's canonical encoding into its leaf and chains them", async () => {
    // No Struct in these events, so the canonical encoding is protobuf-es's plain one.
    const sent = [1, 2, 3].map((i) => makeEvent({ tenantId: "chain", eventId: `c${i}` }));
    await events.ingestBatch(UNRESTRICTED, sent);
    await trail.integrateAndSign();
    const read = await events.queryEvents(UNRESTRICTED, create(QueryRequestSchema, { filter: { tenantId: "chain" } }));
    const byId = new Map(read.events.map(fromStoredEvent).map((e) => [e.eventId, e]));
    let previous = "";
    for (const event of sent) {
      const expected = createHash("sha256").update(toBinary(EventSchema, event)).digest("hex");
      const stored = byId.get(event.eventId);
      expect(stored?.contentHash).toBe(expected);
      expect(stored?.hashPrev).toBe(previous);
      expect(stored?.wormProofId).toBe("checkpoint/3");
      const proof = await trail.inclusionProof(UNRESTRICTED, "chain", event.eventId, 0n);
      expect(Buffer.from(proof.leafHash)).toEqual(Buffer.from(leafHash(Buffer.from(expected, "hex"))));
      previous = expected;
    }
  });

  it("rejects an event whose content_hash is wrong and keeps the rest of the batch", async () => {
    const good = makeEvent({ tenantId: "claims", eventId: "good" });
    good.contentHash = createHash("sha256").update(toBinary(EventSchema, good)).digest("hex").toUpperCase();
    // Read back from another server, say: the other integrity fields are not hashed either.
    good.hashPrev = "cd".repeat(32);
    good.wormProofId = "checkpoint/9";
    const bad = makeEvent({ tenantId: "claims", eventId: "bad", contentHash: "ab".repeat(32) });
    const outcome = await events.ingestBatch(UNRESTRICTED, [good, bad]);
    expect(outcome.acceptedCount).toBe(1);
    expect(outcome.rejected).toEqual([
      expect.objectContaining({
        eventId: "bad",
        reason: expect.stringContaining("event_batch.events[1].content_hash"),
      }),
    ]);
    await expect(events.ingestEvent(UNRESTRICTED, bad)).rejects.toThrow(InvalidArgumentError);
  });

  it("says why a proof cannot be served", async () => {
    await events.ingestEvent(UNRESTRICTED, makeEvent({ tenantId: "why", eventId: "first", projectId: "web" }));
    await expect(trail.checkpoint(UNRESTRICTED, "why", 0n)).rejects.toThrow(NotFoundError);
    await trail.integrateAndSign();
    await events.ingestEvent(UNRESTRICTED, makeEvent({ tenantId: "why", eventId: "late" }));
    // Queued for the log, then in it but not yet in a checkpoint: both "not yet".
    await expect(trail.inclusionProof(UNRESTRICTED, "why", "late", 0n)).rejects.toThrow(/queued for the audit log/);
    // Another project's event, queued or in the log, is answered as an unknown id is.
    const mobileOnly = key("why", ["mobile"]);
    await expect(trail.inclusionProof(mobileOnly, "why", "late", 0n)).rejects.toThrow(
      'event "late" is not in the audit log of tenant "why"',
    );
    await store.audit.integrate(10);
    await expect(trail.inclusionProof(UNRESTRICTED, "why", "late", 0n)).rejects.toThrow(FailedPreconditionError);
    await expect(trail.inclusionProof(UNRESTRICTED, "why", "nope", 0n)).rejects.toThrow(NotFoundError);
    await expect(trail.checkpoint(UNRESTRICTED, "why", 7n)).rejects.toThrow(NotFoundError);
    await expect(trail.consistencyProof(UNRESTRICTED, "why", 2n, 1n)).rejects.toThrow(InvalidArgumentError);
    await expect(trail.checkpoint(key("other"), "why", 0n)).rejects.toThrow(PermissionDeniedError);
    await expect(trail.inclusionProof(mobileOnly, "why", "first", 0n)).rejects.toThrow(
      new NotFoundError('event "first" is not in the audit log of tenant "why"'),
    );
    expect((await trail.inclusionProof(key("why", ["web"]), "", "first", 0n)).leafIndex).toBe(0n);
  });
});
