import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { AuditService } from "../../gen/chaukas/backend/v1/audit_pb.ts";
import { ChaukasServerService } from "../../gen/chaukas/spec/server/v1/server_pb.ts";
import { exitOf, type ServerProcess, startServerProcess } from "../../kit/server-process.ts";
import { UNRESTRICTED } from "../../src/core/access.ts";
import { CheckpointSigner, openCheckpoint, privateKeyFromPem } from "../../src/core/audit/checkpoint.ts";
import { verifyConsistency } from "../../src/lib/merkle.ts";
import type { Database } from "../../src/store/database.ts";
import { openDatabase } from "../../src/store/sql/open-store.ts";
import { ALL_TENANTS } from "../../src/store/tenant-scope.ts";
import { runCli, tempDir } from "../cli/run-cli.ts";
import { testAuditTrail } from "../support/audit.ts";
import { createTestDatabase, storeKinds } from "../support/databases.ts";
import { makeEvent } from "../support/events.ts";

const TENANT = "busy";
const WRITERS_PER_SERVER = 4;
const BATCHES_PER_WRITER = 20;
const BATCH_SIZE = 40;

// Two server processes on one database: PostgreSQL (CI always has it).
describe.skipIf(!(await storeKinds()).includes("postgres"))(
  "two server processes appending to one tenant's log",
  () => {
    let db: Awaited<ReturnType<typeof createTestDatabase>>;
    let store: Database;
    const dir = tempDir();
    const servers: ServerProcess[] = [];

    beforeAll(async () => {
      db = await createTestDatabase();
      const args = [
        "--database-url",
        db.url,
        "--insecure-no-auth",
        "--audit-key-file",
        join(dir.path, "audit-key.pem"),
        "--checkpoint-interval-ms",
        "50",
        "--data-dir",
        dir.path,
      ];
      // One after the other only so the first creates the key file the second then reads.
      servers.push(await startServerProcess(args));
      servers.push(await startServerProcess(args));
      store = await openDatabase({ kind: "postgres", databaseUrl: db.url, poolSize: 2 }, { info() {}, error() {} });
    });
    afterAll(async () => {
      for (const server of servers) server.child.kill("SIGKILL");
      await store?.close();
      await db?.drop();
      dir.remove();
    });

    test("gives every acknowledged event one position, and every checkpoint taken meanwhile is consistent", async () => {
      const total = WRITERS_PER_SERVER * servers.length * BATCHES_PER_WRITER * BATCH_SIZE;
      const acknowledged = new Set<string>();
      const seenSizes = new Set<bigint>();
      let writing = true;
      /** Once the writers are done: how long the watcher may still wait for the log to take in their last events. */
      let watchUntil = Number.POSITIVE_INFINITY;

      const watcher = (async () => {
        const audit = createClient(
          AuditService,
          createConnectTransport({ baseUrl: servers[0].baseUrl, httpVersion: "1.1" }),
        );
        // The log takes events in after their acknowledgement: checkpoints keep growing after the writers end.
        let latest = 0n;
        while (writing || (latest < BigInt(total) && Date.now() < watchUntil)) {
          const answer = await audit.getCheckpoint({ tenantId: TENANT }).catch(() => undefined);
          if (answer?.checkpoint) {
            seenSizes.add(answer.checkpoint.size);
            latest = answer.checkpoint.size;
          }
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      })();

      const writers = servers.flatMap((server, s) =>
        Array.from({ length: WRITERS_PER_SERVER }, async (_, w) => {
          const client = createClient(
            ChaukasServerService,
            createConnectTransport({ baseUrl: server.baseUrl, httpVersion: "1.1", useBinaryFormat: true }),
          );
          for (let b = 0; b < BATCHES_PER_WRITER; b++) {
            const events = Array.from({ length: BATCH_SIZE }, (_, i) =>
              makeEvent({ tenantId: TENANT, eventId: `s${s}-w${w}-b${b}-${i}` }),
            );
            // Every 5th batch re-sends half of the previous one: repeats must not take a position.
            if (b % 5 === 4) events.push(...events.slice(0, BATCH_SIZE / 2).map((e) => ({ ...e })));
            const answer = await client.ingestEventBatch({ eventBatch: { events } });
            expect(answer.rejectedCount).toBe(0);
            for (const event of events) acknowledged.add(event.eventId);
          }
        }),
      );
      await Promise.all(writers);
      watchUntil = Date.now() + 10_000;
      writing = false;
      await watcher;

      // A clean stop signs what was appended last.
      for (const server of servers) server.child.kill("SIGTERM");
      expect(await Promise.all(servers.map((server) => exitOf(server.child)))).toEqual([0, 0]);

      expect(acknowledged.size).toBe(total);
      const entries = await store.audit.entries(ALL_TENANTS, TENANT, 0n, total + 10);
      expect(entries.map((e) => e.position)).toEqual(Array.from({ length: total }, (_, i) => BigInt(i)));
      expect(new Set(entries.map((e) => e.eventId))).toEqual(acknowledged);

      const verified = await runCli(["verify", "--tenant", TENANT, "--database-url", db.url]);
      expect(verified.stdout).toMatch(new RegExp(`^OK: ${total} entries`));
      expect(verified.code).toBe(0);

      // Consistency between every pair of checkpoints a client saw during the run.
      const sizes = [...seenSizes, BigInt(total)].sort((a, b) => (a < b ? -1 : 1));
      expect(sizes.length).toBeGreaterThan(3);
      const verifierKey = (await store.signingKeys.signingKeys())[0]?.verifierKey ?? "";
      // The servers' own key: the trail serves only what that key signed.
      const key = privateKeyFromPem(readFileSync(join(dir.path, "audit-key.pem"), "utf8"));
      const trail = testAuditTrail(store, new CheckpointSigner("chaukas", key));
      const roots = new Map<bigint, Uint8Array>();
      for (const size of sizes) {
        const checkpoint = await store.audit.checkpoint(ALL_TENANTS, TENANT, size);
        roots.set(size, openCheckpoint(checkpoint?.note ?? "", verifierKey).rootHash);
      }
      for (const [i, from] of sizes.entries()) {
        for (const to of sizes.slice(i + 1)) {
          const proof = await trail.consistencyProof(UNRESTRICTED, TENANT, from, to);
          // biome-ignore lint/style/noNonNullAssertion: every size's root was read above
          verifyConsistency(Number(from), Number(to), proof.proof, roots.get(from)!, roots.get(to)!);
        }
      }
    });
  },
);
