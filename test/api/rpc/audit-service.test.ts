import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditService } from "../../../gen/chaukas/backend/v1/audit_pb.ts";
import { ChaukasServerService } from "../../../gen/chaukas/spec/server/v1/server_pb.ts";
import { openCheckpoint, parseVerifierKey } from "../../../src/core/audit/checkpoint.ts";
import { verifyConsistency, verifyInclusion } from "../../../src/lib/merkle.ts";
import { storeKinds } from "../../support/databases.ts";
import { makeEvent } from "../../support/events.ts";
import { startTestServer, type TestServer } from "../../support/server.ts";

/** chaukas.backend.v1.AuditService over each protocol, checked as a client would: by the served key alone. */

describe.each(await storeKinds())("the audit service on the %s store", (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(kind);
  });
  afterAll(() => server.close());

  const transports: [string, () => Transport][] = [
    ["gRPC", () => createGrpcTransport({ baseUrl: server.baseUrl })],
    ["gRPC-Web", () => createGrpcWebTransport({ baseUrl: server.baseUrl, httpVersion: "1.1" })],
    ["Connect JSON", () => createConnectTransport({ baseUrl: server.baseUrl, httpVersion: "1.1" })],
  ];

  describe.each(transports)("over %s", (name, transport) => {
    const tenantId = `audit-${name}`;

    it("serves checkpoints and proofs that verify with the served public key", async () => {
      const audit = createClient(AuditService, transport());
      const ingest = createClient(ChaukasServerService, transport());
      const { verifierKey, keyName, publicKey } = await audit.getPublicKey({});
      expect(parseVerifierKey(verifierKey).name).toBe(keyName);
      expect(publicKey).toHaveLength(32);

      const first = [1, 2, 3].map((i) => makeEvent({ tenantId, eventId: `a${i}` }));
      await ingest.ingestEventBatch({ eventBatch: { events: first } });
      await server.audit.integrateAndSign();
      const second = [4, 5, 6, 7, 8].map((i) => makeEvent({ tenantId, eventId: `a${i}` }));
      await ingest.ingestEventBatch({ eventBatch: { events: second } });
      await server.audit.integrateAndSign();

      const { checkpoint } = await audit.getCheckpoint({ tenantId });
      const latest = openCheckpoint(checkpoint?.note ?? "", verifierKey);
      expect(latest).toMatchObject({ size: 8n, origin: checkpoint?.origin });
      expect(Buffer.from(latest.rootHash)).toEqual(Buffer.from(checkpoint?.rootHash ?? []));
      expect(checkpoint?.id).toBe("checkpoint/8");

      for (const [index, event] of [...first, ...second].entries()) {
        const proof = await audit.getInclusionProof({
          tenantId,
          eventId: event.eventId,
          treeSize: index < 3 ? 3n : 0n,
        });
        const size = Number(proof.checkpoint?.size);
        const root = openCheckpoint(proof.checkpoint?.note ?? "", verifierKey).rootHash;
        expect(proof.leafIndex).toBe(BigInt(index));
        expect(() => verifyInclusion(proof.leafHash, index, size, proof.proof, root)).not.toThrow();
      }

      const consistency = await audit.getConsistencyProof({ tenantId, fromSize: 3n });
      const older = openCheckpoint(consistency.from?.note ?? "", verifierKey);
      expect(() => verifyConsistency(3, 8, consistency.proof, older.rootHash, latest.rootHash)).not.toThrow();
      // A tampered proof does not verify.
      consistency.proof[0][0] ^= 1;
      expect(() => verifyConsistency(3, 8, consistency.proof, older.rootHash, latest.rootHash)).toThrow();
    });

    it("answers with typed codes", async () => {
      const audit = createClient(AuditService, transport());
      const code = (call: Promise<unknown>) =>
        call.then(
          () => "ok",
          (err) => Code[ConnectError.from(err).code],
        );
      expect(await code(audit.getCheckpoint({ tenantId: "no-such-tenant" }))).toBe("NotFound");
      expect(await code(audit.getInclusionProof({ tenantId, eventId: "" }))).toBe("InvalidArgument");
      expect(await code(audit.getConsistencyProof({ tenantId, fromSize: 9n, toSize: 3n }))).toBe("InvalidArgument");
    });
  });
});
