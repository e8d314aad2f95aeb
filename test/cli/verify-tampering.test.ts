import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventService } from "../../src/app.ts";
import { UNRESTRICTED } from "../../src/core/access.ts";
import { integrateQueued } from "../../src/core/audit/audit-trail.ts";
import { CompactRange, leafHash } from "../../src/lib/merkle.ts";
import { testSigner } from "../support/audit.ts";
import { storeKinds } from "../support/databases.ts";
import { makeEvent } from "../support/events.ts";
import { removeTiledLeavesFrom } from "../support/tiled-log-tampering.ts";
import { runCli, tempDir } from "./run-cli.ts";
import { EVENTS, type LogTemplate, logTemplate, type TamperedLog, TENANT } from "./tampered-log.ts";

/**
 * `chaukas verify` against what a database superuser can do behind the server's back: change the
 * columns queries find events by, cut the log back with its checkpoints, replace a checkpoint's
 * stored root, switch off the write-once triggers and row-level security. On both stores.
 */

// Each test copies a database and runs the CLI in a child process: slow on a loaded 2-core machine.
const SLOW = 120_000;
const signer = testSigner();
const dir = tempDir();
afterAll(() => dir.remove());

/** A saved checkpoint file as `jq -r .checkpoint.note > cp.txt` writes it: the note and a newline. */
function savedCheckpoint(note: string, name = "cp.txt"): string {
  const file = join(dir.path, name);
  writeFileSync(file, `${note}\n`);
  return file;
}

describe.each(await storeKinds())("chaukas verify on a tampered %s log", (kind) => {
  let template: LogTemplate;
  beforeAll(async () => {
    template = await logTemplate(kind, signer);
  }, SLOW);
  afterAll(() => template.drop());

  const verify = (log: TamperedLog, ...args: string[]) =>
    runCli(["verify", "--tenant", TENANT, "--public-key", signer.verifierKey, ...log.storeArgs, ...args]);

  /** A test run on a fresh copy of the log, dropped afterwards. */
  const onACopy = (name: string, body: (log: TamperedLog) => Promise<void>) =>
    it(
      name,
      async () => {
        const log = await template.copy();
        try {
          await body(log);
        } finally {
          await log.drop();
        }
      },
      SLOW,
    );

  onACopy("finds an intact log OK, with no warning, and a saved checkpoint in it", async (log) => {
    const result = await verify(log, "--checkpoint", savedCheckpoint(template.notes.get(20n) ?? ""));
    expect(result.stdout).toMatch(
      new RegExp(`^OK: ${EVENTS} entries, root \\S+; 5 signed checkpoint\\(s\\) verify\n$`),
    );
    expect(result.code).toBe(0);
  });

  onACopy("names every column a query filters on that no longer holds what the event's payload gives", async (log) => {
    await log.tamper(`
      UPDATE events SET project_id = 'other' WHERE event_id = 'e1';
      UPDATE events SET session_id = 'elsewhere' WHERE event_id = 'e2';
      UPDATE events SET trace_id = NULL WHERE event_id = 'e3';
      UPDATE events SET span_id = 'span-x' WHERE event_id = 'e4';
      UPDATE events SET agent_id = 'agent-x' WHERE event_id = 'e5';
      UPDATE events SET type = 99 WHERE event_id = 'e6';
      UPDATE events SET status = 5 WHERE event_id = 'e7';
      UPDATE events SET severity = 4 WHERE event_id = 'e8';
      UPDATE events SET ts_ns = ts_ns + 1 WHERE event_id = 'e9';
      UPDATE events SET tags = '{prod}' WHERE event_id = 'e10';
      UPDATE events SET search = to_tsvector('simple', 'nothing') WHERE event_id = 'e11';`);
    const result = await verify(log);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^FAILED: 11 problem\(s\) in 40 entries/);
    const altered = (position: number, column: string, stored: string, derived: string) =>
      expect(result.stdout).toContain(
        `position ${position}: event e${position}'s ${column} was altered: it holds ${stored}, its payload gives ${derived}`,
      );
    altered(1, "project_id", '"other"', '"web"');
    altered(2, "session_id", '"elsewhere"', '"session-1"');
    altered(3, "trace_id", "NULL", '"trace-1"');
    altered(4, "span_id", '"span-x"', '"span-4"');
    altered(5, "agent_id", '"agent-x"', '"agent-1"');
    altered(6, "type", '"99"', '"10"');
    altered(7, "status", '"5"', '"1"');
    altered(8, "severity", '"4"', '"2"');
    expect(result.stdout).toMatch(/position 9: event e9's ts_ns was altered: it holds "\d+", its payload gives "\d+"/);
    altered(10, "tags", '"{prod}"', '"{prod,eu}"');
    altered(11, "search", `"'nothing':1"`, `"'planner':1"`);
  });

  onACopy(
    "warns of a log cut back with all its checkpoints, and fails against a checkpoint saved before",
    async (log) => {
      await cutBack(log, 30);
      const alone = await verify(log);
      expect(alone.stdout).toMatch(/^OK: 30 entries, root \S+; 0 signed checkpoint\(s\) verify\n/);
      expect(alone.stdout).toContain(
        "warning: the log has 30 entries but the database holds no signed checkpoint: if a running server has not just signed them, " +
          "checkpoints may have been removed with entries after them; check a checkpoint saved earlier with --checkpoint FILE",
      );

      const saved = await verify(log, "--checkpoint", savedCheckpoint(template.notes.get(40n) ?? ""));
      expect(saved.code).toBe(1);
      expect(saved.stdout).toMatch(/^FAILED: 1 problem\(s\) in 30 entries/);
      expect(saved.stdout).toContain(
        "the saved checkpoint (size 40) signs more entries than the log holds (30): entries were removed",
      );
      // The same note signed by another key (a forgery, or a note of another log) says nothing about
      // this log: it is refused as unsigned, not taken as proof of removed entries.
      const [origin, size, root] = (template.notes.get(40n) ?? "").split("\n");
      const forged = testSigner().sign({ origin, size: BigInt(size), rootHash: Buffer.from(root, "base64") });
      const unsigned = await verify(log, "--checkpoint", savedCheckpoint(forged, "forged.txt"));
      expect(unsigned.code).toBe(1);
      expect(unsigned.stdout).toMatch(/the saved checkpoint \(size 40\) does not verify: note has no signature by /);
      expect(unsigned.stdout).not.toContain("entries were removed");
      // A checkpoint from before the cut still verifies: the log kept its first 20 entries.
      const older = await verify(log, "--checkpoint", savedCheckpoint(template.notes.get(20n) ?? ""));
      expect(older.code).toBe(0);
    },
  );

  onACopy("warns of entries after the latest stored checkpoint", async (log) => {
    await log.tamper("DELETE FROM audit_checkpoints WHERE size = 40");
    const result = await verify(log);
    expect(result.stdout).toMatch(/^OK: 40 entries, root \S+; 3 signed checkpoint\(s\) verify\n/);
    expect(result.stdout).toContain(
      "warning: entries 30..39 are in no signed checkpoint (the latest is of size 30): if a running server",
    );
    expect(result.code).toBe(0);
  });

  onACopy("fails when the log's head row is gone", async (log) => {
    await log.tamper("DELETE FROM audit_heads");
    const result = await verify(log);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("the log's head is missing, 40 were found");
  });

  onACopy("refuses a saved checkpoint the log does not extend, or not signed by the key", async (log) => {
    // The last event replaced by another, appended as the server would: the same size, another root.
    await cutBack(log, EVENTS - 1);
    const store = await log.open();
    try {
      const events = eventService(store);
      await events.ingestBatch(UNRESTRICTED, [makeEvent({ tenantId: TENANT, eventId: "forged" })]);
      await integrateQueued(store.audit);
    } finally {
      await store.close();
    }
    const alone = await verify(log);
    expect(alone.stdout).toMatch(/^OK: 40 entries, root \S+; 0 signed checkpoint\(s\) verify\n/);
    const forked = await verify(log, "--checkpoint", savedCheckpoint(template.notes.get(40n) ?? ""));
    expect(forked.code).toBe(1);
    expect(forked.stdout).toMatch(
      /the saved checkpoint \(size 40\) does not verify: it signs root \S+, the entries give \S+/,
    );

    const foreign = testSigner();
    const note = template.notes.get(20n) ?? "";
    const [origin, size, root] = note.split("\n");
    const unsigned = foreign.sign({ origin, size: BigInt(size), rootHash: Buffer.from(root, "base64") });
    const other = await verify(log, "--checkpoint", savedCheckpoint(unsigned, "other-key.txt"));
    expect(other.code).toBe(1);
    expect(other.stdout).toMatch(/the saved checkpoint \(size 20\) does not verify: note has no signature by /);
  });

  onACopy("fails when a checkpoint's stored root is not the one its note signs", async (log) => {
    await log.tamper(`UPDATE audit_checkpoints SET root_hash = sha256(root_hash) WHERE size = 40`);
    const result = await verify(log);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /checkpoint 40 does not verify: the root stored beside its note is \S+, the note signs \S+/,
    );
  });

  onACopy("reports write-once triggers and row-level security switched off", async (log) => {
    await log.tamper(`
      ALTER TABLE events DISABLE TRIGGER events_append_only;
      ALTER TABLE audit_leaves ENABLE REPLICA TRIGGER audit_leaves_no_truncate;
      DROP TRIGGER audit_checkpoints_append_only ON audit_checkpoints;
      ALTER TABLE audit_nodes NO FORCE ROW LEVEL SECURITY;
      ALTER TABLE ingest_queue DISABLE ROW LEVEL SECURITY;
      ALTER TABLE redaction_secrets DISABLE ROW LEVEL SECURITY;`);
    const result = await verify(log);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^FAILED: 6 problem\(s\) in 40 entries/);
    for (const line of [
      "the write-once trigger events_append_only on events is disabled: its rows can be changed or removed",
      "the write-once trigger audit_leaves_no_truncate on audit_leaves is enabled only for replication sessions",
      "the write-once trigger audit_checkpoints_append_only on audit_checkpoints is missing",
      "tenant isolation on audit_nodes is weakened: row-level security is not forced on the table's owner",
      "tenant isolation on ingest_queue is off: row-level security is disabled",
      "tenant isolation on redaction_secrets is off: row-level security is disabled",
    ])
      expect(result.stdout).toContain(line);
  });

  onACopy("reports the functions the triggers and verify rely on replaced, dropped or given settings", async (log) => {
    // Each stand-in keeps the signature: a trigger function that lets every change through, a
    // lookup that finds no event outside the log, and a tile reader dropped.
    await log.tamper(`
      CREATE OR REPLACE FUNCTION chaukas_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW; END $$;
      CREATE OR REPLACE FUNCTION chaukas_log_leaf(tenant text, stored_xid xid8, event text)
      RETURNS TABLE ("position" bigint, content_hash bytea, hash_prev bytea)
      LANGUAGE sql STABLE AS $$ SELECT 0::bigint, ''::bytea, ''::bytea $$;
      ALTER FUNCTION chaukas_tile_leaves(audit_leaf_tiles) SET search_path = pg_temp, public;
      DROP FUNCTION chaukas_tile_leaf(audit_leaf_tiles, integer);`);
    const result = await verify(log);
    expect(result.code).toBe(1);
    for (const line of [
      "the function chaukas_refuse_change() is not the one the migrations define: the write-once triggers may refuse nothing",
      "the function chaukas_log_leaf(text,xid8,text) is not the one the migrations define: events left out of the log may go unreported",
      "the function chaukas_tile_leaves(audit_leaf_tiles) runs with settings of its own (search_path=pg_temp, public): the log's leaves may be read other than as stored",
      "the function chaukas_tile_leaf(audit_leaf_tiles,integer) is missing: the log's leaves may be read other than as stored",
      "the log could not be read: function chaukas_tile_leaf(audit_leaf_tiles, integer) does not exist",
    ])
      expect(result.stdout).toContain(line);
  });

  onACopy("reports functions and tables another schema holds under the names the log's reads use", async (log) => {
    // A role's own schema comes first in the default search_path ("$user"); a function taking the
    // exact types is chosen over a polymorphic built-in wherever it is on the path.
    await log.tamper(`
      CREATE SCHEMA lookalike;
      CREATE FUNCTION lookalike.chaukas_log_leaf(tenant text, stored_xid xid8, event text)
      RETURNS TABLE ("position" bigint, content_hash bytea, hash_prev bytea)
      LANGUAGE sql STABLE AS $$ SELECT 0::bigint, ''::bytea, ''::bytea $$;
      CREATE FUNCTION public.array_position(text[], text) RETURNS integer LANGUAGE sql AS $$ SELECT 1 $$;
      CREATE TABLE lookalike.audit_leaf_tiles (LIKE public.audit_leaf_tiles);`);
    const result = await verify(log);
    expect(result.code).toBe(1);
    const suffix =
      "has the name of one the log's triggers or reads use: a session whose search_path finds it first uses it instead";
    for (const object of [
      "the function lookalike.chaukas_log_leaf(tenant text, stored_xid xid8, event text)",
      "the function public.array_position(text[], text)",
      "the relation lookalike.audit_leaf_tiles",
    ])
      expect(result.stdout).toContain(`${object} ${suffix}`);
    expect(result.stdout).toMatch(/^FAILED: 3 problem\(s\) in 40 entries/);
  });

  onACopy("reports tenant isolation policies altered, dropped or widened, settings tables included", async (log) => {
    await log.tamper(`
      ALTER POLICY events_tenant_isolation ON events USING (true);
      DROP POLICY stats_daily_tenant_isolation ON stats_daily;
      CREATE POLICY everyone ON audit_leaves USING (true);
      ALTER POLICY audit_nodes_all_tenants ON audit_nodes USING (true);
      DROP POLICY usage_backfill_all_tenants ON usage_backfill;
      ALTER TABLE stats_hourly NO FORCE ROW LEVEL SECURITY;
      ALTER POLICY retention_policies_tenant_isolation ON retention_policies USING (true);`);
    // Roles are cluster-wide: a name of this run's own, dropped again.
    const bypassing = `chaukas_test_bypass_${randomBytes(4).toString("hex")}`;
    await log.tamper(`CREATE ROLE ${bypassing} BYPASSRLS IN ROLE chaukas_app`);
    const result = await verify(log).finally(() => log.tamper(`DROP ROLE ${bypassing}`));
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^FAILED: 8 problem\(s\) in 40 entries/);
    expect(result.stdout).toContain(
      `role ${bypassing} serves as chaukas_app with BYPASSRLS: tenant isolation does not apply to it`,
    );
    for (const line of [
      "tenant isolation on events is altered: policy events_tenant_isolation is not one of the tenant isolation policies",
      "tenant isolation on stats_daily is altered: its policy stats_daily_tenant_isolation is missing, so with row-level security on, requests in a tenant's scope can neither read nor write its rows",
      "tenant isolation on retention_policies is altered: policy retention_policies_tenant_isolation is not one of the tenant isolation policies",
      "tenant isolation on audit_leaves is altered: policy everyone is not one of the tenant isolation policies",
      "tenant isolation on audit_nodes is altered: policy audit_nodes_all_tenants is not one of the tenant isolation policies",
      "work across tenants cannot reach usage_backfill: its policy usage_backfill_all_tenants is missing",
      "tenant isolation on stats_hourly is weakened: row-level security is not forced on the table's owner",
    ])
      expect(result.stdout).toContain(line);
  });
});

/**
 * Removes the log's entries from `size` on with their events and every checkpoint, and sets its
 * head to what the remaining entries give: the log as it would be had they never been stored.
 */
async function cutBack(log: TamperedLog, size: number): Promise<void> {
  const leaves = await log.query<{ content_hash: Uint8Array }>(
    `SELECT l.content_hash FROM audit_leaf_tiles t CROSS JOIN LATERAL chaukas_tile_leaves(t) l
     WHERE t.tenant_id = $1 AND t.first_position < $2 AND l.position < $2 ORDER BY l.position`,
    [TENANT, size],
  );
  const range = CompactRange.empty();
  for (const leaf of leaves) range.append(leafHash(leaf.content_hash));
  const hex = (bytes: Uint8Array) => `'\\x${Buffer.from(bytes).toString("hex")}'::bytea`;
  await log.tamper(`
    ${removeTiledLeavesFrom(TENANT, size)}
    DELETE FROM audit_nodes WHERE (index + 1) * power(2, level) > ${size};
    DELETE FROM audit_checkpoints;
    UPDATE audit_heads SET size = ${size}, compact_range = ${hex(Buffer.concat(range.hashes))},
      last_content_hash = ${hex(leaves[size - 1].content_hash)};`);
}
