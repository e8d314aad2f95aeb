import { copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rotateSigningKey, setUpAuditTrail } from "../../../src/app/audit-setup.ts";
import { eventService } from "../../../src/app.ts";
import { printVerification } from "../../../src/cli/verify-command.ts";
import { ConfigError } from "../../../src/config.ts";
import { UNRESTRICTED } from "../../../src/core/access.ts";
import type { AuditTrail } from "../../../src/core/audit/audit-trail.ts";
import { openCheckpoint } from "../../../src/core/audit/checkpoint.ts";
import { verifyDatabase } from "../../../src/core/audit/database-verification.ts";
import { verifyConsistency, verifyInclusion } from "../../../src/lib/merkle.ts";
import type { Database } from "../../../src/store/database.ts";
import { tempDir } from "../../cli/run-cli.ts";
import { TEST_LOG_NAME } from "../../support/audit.ts";
import { openTestStore, type StoreKind, storeKinds } from "../../support/databases.ts";
import { makeEvent } from "../../support/events.ts";

/**
 * Rotating the checkpoint signing key: the new key signs from the next checkpoint, the old
 * checkpoints still verify with the key that signed them, proofs across the rotation verify, and
 * a server holding the old key is refused.
 */

const TENANT = "rot";
const quiet = { info: () => {} };

describe.each(await storeKinds())("signing key rotation on the %s store", (kind: StoreKind) => {
  let store: Database;
  let close: () => Promise<void>;
  const dir = tempDir();
  const config = () => ({
    auditKeyFile: join(dir.path, `${kind}.pem`),
    auditLogName: TEST_LOG_NAME,
    dataDir: dir.path,
  });

  beforeAll(async () => {
    ({ store, close } = await openTestStore(kind));
  });
  afterAll(async () => {
    await close();
    dir.remove();
  });

  const ingest = async (trail: AuditTrail, ids: string[]) => {
    await eventService(store).ingestBatch(
      UNRESTRICTED,
      ids.map((eventId) => makeEvent({ tenantId: TENANT, eventId })),
    );
    return trail.integrateAndSign();
  };

  it("signs with the new key from the next checkpoint and keeps every proof verifiable", async () => {
    const first = await setUpAuditTrail(store, config(), quiet);
    await ingest(first, ["a", "b", "c"]);
    const before = await first.inclusionProof(UNRESTRICTED, TENANT, "b", 0n);
    const oldKey = first.signer.verifierKey;
    copyFileSync(config().auditKeyFile, join(dir.path, `${kind}-old.pem`));

    const newKey = await rotateSigningKey(store, config());
    expect(newKey).not.toBe(oldKey);
    // The server still holding the old key signs nothing more.
    await expect(ingest(first, ["d"])).rejects.toThrow(/no longer signs/);
    // ...and one started with it is refused, as one with any other key is.
    await expect(
      setUpAuditTrail(store, { ...config(), auditKeyFile: join(dir.path, `${kind}-old.pem`) }, quiet),
    ).rejects.toThrow(ConfigError);

    const second = await setUpAuditTrail(store, config(), quiet);
    expect(second.signer.verifierKey).toBe(newKey);
    await ingest(second, ["e"]);
    const latest = await second.checkpoint(UNRESTRICTED, TENANT, 0n);
    expect(latest.size).toBe(5n);
    expect(() => openCheckpoint(latest.note, oldKey)).toThrow(/no signature/);
    openCheckpoint(latest.note, newKey);
    // The checkpoint signed before the rotation is still served, and verifies with the old key.
    const old = await second.checkpoint(UNRESTRICTED, TENANT, 3n);
    expect(openCheckpoint(old.note, oldKey).size).toBe(3n);

    // A proof fetched before the rotation, one across it, and one of an old event at the new size.
    verifyInclusion(before.leafHash, 1, 3, before.proof, before.checkpoint.rootHash);
    const across = await second.consistencyProof(UNRESTRICTED, TENANT, 3n, 0n);
    verifyConsistency(3, 5, across.proof, old.rootHash, latest.rootHash);
    const now = await second.inclusionProof(UNRESTRICTED, TENANT, "b", 0n);
    verifyInclusion(now.leafHash, 1, 5, now.proof, latest.rootHash);

    // GetPublicKey's list: both keys, the old one with the end of its validity.
    const keys = await second.signingKeys();
    expect(keys.map((key) => [key.verifierKey, key.validUntil !== undefined])).toEqual([
      [oldKey, true],
      [newKey, false],
    ]);

    // verify takes the key set; with the new key alone, the old checkpoints do not verify.
    const lines: string[] = [];
    const all = await verifyDatabase(store, TENANT, [oldKey, newKey]);
    expect(printVerification(all.outcome(), (line) => lines.push(line))).toBe(0);
    expect(lines[0]).toMatch(/^OK: 5 entries/);
    const newOnly = await verifyDatabase(store, TENANT, newKey);
    expect(newOnly.findings.map((finding) => finding.problem).join("\n")).toMatch(/checkpoint 3 does not verify/);
  });

  it("refuses to rotate from a key that does not sign now", async () => {
    const stale = { ...config(), auditKeyFile: join(dir.path, `${kind}-old.pem`) };
    const before = readFileSync(stale.auditKeyFile, "utf8");
    await expect(rotateSigningKey(store, stale)).rejects.toThrow(/does not sign this database's checkpoints now/);
    expect(readFileSync(stale.auditKeyFile, "utf8")).toBe(before);
  });
});
