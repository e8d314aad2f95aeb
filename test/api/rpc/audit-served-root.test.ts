import type { AddressInfo } from "node:net";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditService } from "../../../gen/chaukas/backend/v1/audit_pb.ts";
import { buildServer } from "../../../src/api/server.ts";
import { eventService } from "../../../src/app.ts";
import { UNRESTRICTED } from "../../../src/core/access.ts";
import type { AuditTrail } from "../../../src/core/audit/audit-trail.ts";
import { openCheckpoint } from "../../../src/core/audit/checkpoint.ts";
import { verifyInclusion } from "../../../src/lib/merkle.ts";
import { testAuditTrail, testSigner } from "../../support/audit.ts";
import { openTestStore, storeKinds } from "../../support/databases.ts";
import { makeEvent } from "../../support/events.ts";
import { TEST_SERVER_OPTIONS } from "../../support/server.ts";
import { tamperWith } from "../../support/tamper.ts";

/**
 * A checkpoint's size and root are served from its signed note, never from the columns stored
 * beside it: a superuser who replaces `root_hash` changes nothing a client is told, and a note
 * the server's key did not sign is not served at all.
 */

const TENANT = "acme";

describe.skipIf(!(await storeKinds()).includes("postgres"))("AuditService over a tampered checkpoint row", () => {
  let close: () => Promise<void>;
  let tamper: (sql: string) => Promise<void>;
  let audit: ReturnType<typeof createClient<typeof AuditService>>;
  let trail: AuditTrail;

  beforeAll(async () => {
    const opened = await openTestStore("postgres");
    const events = eventService(opened.store);
    trail = testAuditTrail(opened.store);
    const app = await buildServer(events, { ...TEST_SERVER_OPTIONS, audit: trail });
    await app.listen({ host: "127.0.0.1", port: 0 });
    const { port } = app.server.address() as AddressInfo;
    audit = createClient(
      AuditService,
      createConnectTransport({ baseUrl: `http://127.0.0.1:${port}`, httpVersion: "1.1" }),
    );
    close = async () => {
      await app.close();
      await opened.close();
    };
    tamper = (sql) => tamperWith(opened.url ?? "", sql);
    const ids = ["a", "b", "c", "d", "e"];
    await events.ingestBatch(
      UNRESTRICTED,
      ids.map((eventId) => makeEvent({ tenantId: TENANT, eventId })),
    );
    await trail.integrateAndSign();
  });
  afterAll(() => close());

  it("serves the root the note signs, and proofs that verify against it", async () => {
    await tamper(`UPDATE audit_checkpoints SET root_hash = sha256(root_hash) WHERE tenant_id = '${TENANT}'`);
    const { checkpoint } = await audit.getCheckpoint({ tenantId: TENANT });
    const signed = openCheckpoint(checkpoint?.note ?? "", trail.signer.verifierKey);
    expect(Buffer.from(checkpoint?.rootHash ?? [])).toEqual(Buffer.from(signed.rootHash));
    expect(checkpoint?.size).toBe(signed.size);

    const proof = await audit.getInclusionProof({ tenantId: TENANT, eventId: "c" });
    expect(Buffer.from(proof.checkpoint?.rootHash ?? [])).toEqual(Buffer.from(signed.rootHash));
    expect(() => verifyInclusion(proof.leafHash, 2, 5, proof.proof, signed.rootHash)).not.toThrow();
  });

  it("refuses to serve a note the server's key did not sign", async () => {
    const forged = testSigner(trail.signer.name).sign({
      origin: trail.origin(TENANT),
      size: 5n,
      rootHash: new Uint8Array(32),
    });
    await tamper(`UPDATE audit_checkpoints SET note = '${forged}' WHERE tenant_id = '${TENANT}'`);
    const failed = await audit.getCheckpoint({ tenantId: TENANT }).then(
      () => undefined,
      (err) => ConnectError.from(err),
    );
    expect(failed?.code).toBe(Code.Internal);
  });
});
