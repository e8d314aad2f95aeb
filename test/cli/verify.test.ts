import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventService } from "../../src/app.ts";
import { UNRESTRICTED } from "../../src/core/access.ts";
import { openDatabase } from "../../src/store/sql/open-store.ts";
import { testAuditTrail, testSigner } from "../support/audit.ts";
import { createTestDatabase, storeKinds } from "../support/databases.ts";
import { makeEvent } from "../support/events.ts";
import { deleteTiledLeaf, swapTiledLeaves } from "../support/tiled-log-tampering.ts";
import { runCli, tempDir } from "./run-cli.ts";

/**
 * `chaukas verify`, the auditor's tool, against a real PostgreSQL log that is then altered as a
 * superuser would (triggers bypassed): each alteration must be named.
 */

const TENANT = "acme";
const EVENTS = 40;
const signer = testSigner();
const quiet = { info: () => {}, error: () => {} };

interface Log {
  url: string;
  latestNote: string;
  /** Runs SQL as the superuser with the write-once triggers off, as a tamperer would. */
  tamper: (sql: string) => Promise<void>;
  drop: () => Promise<void>;
}

/** A fresh database holding a tenant's log of 40 events in 4 batches, a checkpoint after each. */
async function signedLog(): Promise<Log> {
  const db = await createTestDatabase();
  const store = await openDatabase({ kind: "postgres", databaseUrl: db.url, poolSize: 2 }, quiet);
  try {
    const events = eventService(store);
    const trail = testAuditTrail(store, signer);
    for (let batch = 0; batch < 4; batch++) {
      const ids = Array.from({ length: EVENTS / 4 }, (_, i) => `e${batch * 10 + i}`);
      await events.ingestBatch(
        UNRESTRICTED,
        ids.map((eventId) => makeEvent({ tenantId: TENANT, eventId })),
      );
      await trail.integrateAndSign();
    }
    const latestNote = (await trail.checkpoint(UNRESTRICTED, TENANT, 0n)).note;
    return {
      url: db.url,
      latestNote,
      tamper: async (sql) => {
        const client = new pg.Client({ connectionString: db.url });
        await client.connect();
        try {
          await client.query(`SET session_replication_role = replica; ${sql}`);
        } finally {
          await client.end();
        }
      },
      drop: db.drop,
    };
  } finally {
    await store.close();
  }
}

const verifyOnline = (log: Log, key = signer.verifierKey) =>
  runCli(["verify", "--tenant", TENANT, "--database-url", log.url, "--public-key", key]);

describe.skipIf(!(await storeKinds()).includes("postgres"))("chaukas verify", () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  describe("on an intact log", () => {
    let log: Log;
    beforeAll(async () => {
      log = await signedLog();
    });
    afterAll(() => log.drop());

    it("recomputes the log from the database and finds every checkpoint true", async () => {
      const result = await verifyOnline(log);
      expect(result.stdout).toMatch(new RegExp(`^OK: ${EVENTS} entries, root \\S+; 4 signed checkpoint\\(s\\) verify`));
      expect(result.code).toBe(0);
    });

    it("offline, from an export, reaches the root the checkpoint signs", async () => {
      const exported = join(dir.path, "acme.jsonl");
      expect((await runCli(["export", "--tenant", TENANT, "--database-url", log.url, "--out", exported])).code).toBe(0);
      const checkpoint = join(dir.path, "checkpoint.txt");
      writeFileSync(checkpoint, log.latestNote);
      const keyFile = join(dir.path, "key.pub");
      writeFileSync(keyFile, `${signer.verifierKey}\n`);

      const verifyExport = (file: string, key: string) =>
        runCli(["verify", "--export", file, "--checkpoint", checkpoint, "--public-key", key]);
      const result = await verifyExport(exported, keyFile);
      const signedRoot = log.latestNote.split("\n")[2];
      expect(result.stdout).toContain(`OK: ${EVENTS} entries, root ${signedRoot}; 1 signed checkpoint(s) verify`);
      expect(result.code).toBe(0);

      // The same export with one event's content changed names that event.
      const lines = readFileSync(exported, "utf8").trimEnd().split("\n");
      lines[3] = lines[3].replace('"session_id":"session-1"', '"session_id":"session-2"');
      const altered = join(dir.path, "altered.jsonl");
      writeFileSync(altered, `${lines.join("\n")}\n`);
      const broken = await verifyExport(altered, keyFile);
      expect(broken.code).toBe(1);
      expect(broken.stdout).toMatch(/event e\d+ was altered/);

      // A checkpoint checked against another key is refused.
      const other = await verifyExport(exported, testSigner().verifierKey);
      expect(other.code).toBe(1);
      expect(other.stdout).toContain(`checkpoint ${EVENTS} does not verify`);
    });

    it("refuses checkpoints signed by a key other than the one given", async () => {
      const result = await verifyOnline(log, testSigner().verifierKey);
      expect(result.code).toBe(1);
      expect(result.stdout).toContain("FAILED: 4 problem(s)");
    });
  });

  it.each([
    {
      alteration: "one event's stored content changed",
      sql: `UPDATE events SET payload = payload || '\\x00'::bytea WHERE event_id = 'e7'`,
      named: [/position 7: event e7 was altered: it hashes to [0-9a-f]{64}, its leaf holds [0-9a-f]{64}/],
    },
    {
      alteration: "one event deleted",
      sql: "DELETE FROM events WHERE event_id = 'e12'",
      named: [/position 12: event e12 is gone/],
    },
    {
      alteration: "one leaf deleted",
      sql: deleteTiledLeaf(TENANT, 25),
      named: [
        /position 25: positions 25\.\.25 are missing from the log/,
        /position 26: hash_prev .* is not the previous entry's content hash/,
        /checkpoint 30 does not verify: it signs root/,
        /the stored hash of subtree 4\/1 \(leaves 16\.\.31\) differs from the one its leaves give/,
        /event e25 is stored but not in the log/,
      ],
    },
    {
      alteration: "a stored subtree hash changed",
      sql: "UPDATE audit_nodes SET hash = sha256(hash) WHERE level = 4 AND index = 1",
      named: [/the stored hash of subtree 4\/1 \(leaves 16\.\.31\) differs from the one its leaves give/],
    },
    {
      alteration: "two positions swapped",
      sql: swapTiledLeaves(TENANT, 5, 31),
      // Inside a tile a leaf's hash_prev is derived from the leaf before it, so the swap leaves
      // wrong only the hash_prev the next tile stores (32, after 31 ends the tile 30..31): the
      // roots and the stored subtrees over the swapped leaves must catch it.
      named: [
        /checkpoint 10 does not verify: it signs root/,
        /checkpoint 40 does not verify: it signs root/,
        /the stored hash of subtree 4\/0 \(leaves 0\.\.15\) differs from the one its leaves give/,
        /the stored hash of subtree 4\/1 \(leaves 16\.\.31\) differs from the one its leaves give/,
        /position 32: hash_prev .* is not the previous entry's content hash/,
        // Each event is looked up in the tile its key sorts into, which no longer holds it.
        /event e5 is stored but not in the log/,
        /event e31 is stored but not in the log/,
      ],
    },
    {
      alteration: "the last tile moved past the log's head",
      sql: `UPDATE audit_leaf_tiles SET first_position = first_position + 1000000
            WHERE tenant_id = '${TENANT}'
              AND first_position = (SELECT max(first_position) FROM audit_leaf_tiles WHERE tenant_id = '${TENANT}')`,
      // Past the pages the walk reads; its events are found in it, at positions the head does not count.
      named: [/the log's head says 40 entries, \d+ were found/, /event e39 is stored but not in the log/],
    },
  ])("names the alteration: $alteration", async ({ sql, named }) => {
    const log = await signedLog();
    try {
      await log.tamper(sql);
      const result = await verifyOnline(log);
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/^FAILED: \d+ problem\(s\)/);
      for (const pattern of named) expect(result.stdout).toMatch(pattern);
    } finally {
      await log.drop();
    }
  });
});
