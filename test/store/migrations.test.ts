import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { integrateQueued } from "../../src/core/audit/audit-trail.ts";
import { createApiKey } from "../../src/core/key-admin.ts";
import type { Database } from "../../src/store/database.ts";
import { openDatabase } from "../../src/store/sql/open-store.ts";
import { ALL_TENANTS } from "../../src/store/tenant-scope.ts";
import { ADMIN_URL, createTestDatabase, storeKinds, withPostgres } from "../support/databases.ts";
import { MIGRATIONS, runMigrations } from "../support/migrations.ts";
import { eventRecord } from "../support/records.ts";
import { tamperWith } from "../support/tamper.ts";

/** Opening a store migrates its database exactly once, however many processes open it together. */

/** A log that records the migrations openDatabase reports applying. */
function recordingLog() {
  const applied: string[] = [];
  const log = {
    info: (msg: string) => {
      const match = /^applied migration (.+)$/.exec(msg);
      if (match) applied.push(match[1]);
    },
    error: () => {},
  };
  return { applied, log };
}

async function eventIds(store: Database): Promise<string[]> {
  const rows = await store.queryEvents(ALL_TENANTS, {
    filter: { tenantId: "migrations" },
    ascending: true,
    limit: 100,
  });
  return rows.map((r) => r.eventId);
}

const kinds = await storeKinds();

describe.each(kinds.filter((k) => k === "postgres"))("migrations on the %s store", () => {
  async function migrationRows(url: string): Promise<string[]> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query<{ name: string }>("SELECT name FROM schema_migrations ORDER BY id");
      return rows.map((r) => r.name);
    } finally {
      await client.end();
    }
  }

  it.each([2, 4])("migrates once when %i pools open one new database at the same time", async (count) => {
    const db = await createTestDatabase();
    const logs = Array.from({ length: count }, recordingLog);
    const opened = await Promise.allSettled(
      logs.map(({ log }) => openDatabase({ kind: "postgres", databaseUrl: db.url, poolSize: 2 }, log)),
    );
    const stores = opened.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    try {
      expect(opened.map((r) => r.status)).toEqual(logs.map(() => "fulfilled"));
      expect(logs.flatMap((l) => l.applied).sort()).toEqual(MIGRATIONS);
      expect(await migrationRows(db.url)).toEqual(MIGRATIONS);
      // Every store works on the one schema.
      await stores[0].insertEvents(ALL_TENANTS, [eventRecord({ tenantId: "migrations", eventId: "shared" })]);
      for (const store of stores) expect(await eventIds(store)).toEqual(["shared"]);
    } finally {
      for (const store of stores) await store.close();
      await db.drop();
    }
  });

  it("applies nothing when an up-to-date database is opened again", async () => {
    const db = await createTestDatabase();
    try {
      const first = recordingLog();
      await (await openDatabase({ kind: "postgres", databaseUrl: db.url, poolSize: 1 }, first.log)).close();
      const again = recordingLog();
      await (await openDatabase({ kind: "postgres", databaseUrl: db.url, poolSize: 1 }, again.log)).close();
      expect(first.applied).toEqual(MIGRATIONS);
      expect(again.applied).toEqual([]);
      expect(await migrationRows(db.url)).toEqual(MIGRATIONS);
    } finally {
      await db.drop();
    }
  });
});

describe.each(kinds.filter((k) => k === "postgres"))("the stats rollups migration on the %s store", () => {
  it("counts events stored before it, and logs only those that were queued for the log", async () => {
    const db = await createTestDatabase();
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      // The schema as it was before the rollups: every earlier migration.
      const before = MIGRATIONS.indexOf("1764130000000_stats-rollups");
      expect(before).toBeGreaterThan(0);
      await runMigrations(client, "up", before);
      const old = (eventId: string, type: number, hour: number) =>
        client.query(
          `INSERT INTO events (tenant_id, event_id, project_id, session_id, type, status, severity, ts_ns, search, payload)
           VALUES ('old', $1, 'p', 's', $2, 1, 0, $3, ''::tsvector, '\\x00')`,
          [eventId, type, String(1_764_072_000_000_000_000n + BigInt(hour) * 3_600_000_000_000n)],
        );
      await old("logged", 1, 0); // already in the log (its leaf is not needed here)
      await old("queued", 3, 5);
      await old("ended", 2, 30);
      await client.query("INSERT INTO audit_pending (tenant_id, event_id, content_hash) VALUES ('old', 'queued', $1)", [
        Buffer.alloc(32, 7),
      ]);

      const store = await openDatabase({ kind: "postgres", databaseUrl: db.url, poolSize: 1 }, recordingLog().log);
      try {
        const expected = { totalEvents: 3n, totalSessions: 1n, avgSessionDurationMs: 30 * 3_600_000 };
        const check = async () => {
          const all = await store.eventStats(ALL_TENANTS, { tenantId: "old" });
          const day = await store.eventStats(ALL_TENANTS, {
            tenantId: "old",
            startNs: 1_764_072_000_000_000_000n,
            endNs: 1_764_072_000_000_000_000n + 31n * 3_600_000_000_000n,
          });
          for (const stats of [all, day]) {
            expect(stats).toMatchObject(expected);
            expect(stats.eventsByType).toEqual(
              new Map([
                [1, 1n],
                [2, 1n],
                [3, 1n],
              ]),
            );
          }
        };
        await check(); // while queued
        await integrateQueued(store.audit);
        await check(); // rolled up
        const head = await store.audit.head(ALL_TENANTS, "old");
        expect(head?.size).toBe(1n);
        expect((await store.audit.entry(ALL_TENANTS, "old", "queued"))?.position).toBe(0n);
      } finally {
        await store.close();
      }
    } finally {
      await client.end();
      await db.drop();
    }
  });
});

describe.each(kinds.filter((k) => k === "postgres"))("the one-hour session totals migration on the %s store", () => {
  it("totals the sessions rolled up before it, so range stats do not change", async () => {
    const db = await createTestDatabase();
    const HOUR = 3_600_000_000_000n;
    const T0 = 1_764_072_000_000_000_000n;
    const at = (eventId: string, sessionId: string, type: number, ns: bigint) =>
      eventRecord({ tenantId: "old", eventId, sessionId, type, timestampNs: T0 + ns });
    const store = await openDatabase({ kind: "postgres", databaseUrl: db.url, poolSize: 1 }, recordingLog().log);
    try {
      // Rolled up: two sessions within hour 1 (one timed, 20 minutes), one spanning hours 1 and 2.
      await store.insertEvents(ALL_TENANTS, [
        at("a1", "a", 1, HOUR + 60_000_000_000n),
        at("a2", "a", 2, HOUR + 1_260_000_000_000n),
        at("b1", "b", 10, HOUR + 5n),
        at("c1", "c", 1, HOUR + 10n),
        at("c2", "c", 2, 2n * HOUR + 10n),
      ]);
      await integrateQueued(store.audit);
      const range = { tenantId: "old", startNs: T0, endNs: T0 + 3n * HOUR };
      const before = await store.eventStats(ALL_TENANTS, range);
      expect(before).toMatchObject({ totalEvents: 5n, totalSessions: 3n });
      expect(before.avgSessionDurationMs).toBeCloseTo((20 * 60_000 + 3_600_000) / 2, 6);

      // Undone and applied again: the totals come from the rolled-up sessions alone.
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      try {
        for (const direction of ["down", "up"] as const) await runMigrations(client, direction, 1);
      } finally {
        await client.end();
      }
      expect(await store.eventStats(ALL_TENANTS, range)).toEqual(before);
      expect(await store.eventStats(ALL_TENANTS, { ...range, projectId: "web" })).toEqual(before);
      // A later END in session a (80 minutes after its start) makes it span hours: it leaves hour 1's totals.
      await store.insertEvents(ALL_TENANTS, [at("a3", "a", 2, 2n * HOUR + 1_260_000_000_000n)]);
      await integrateQueued(store.audit);
      const after = await store.eventStats(ALL_TENANTS, range);
      expect(after).toMatchObject({ totalEvents: 6n, totalSessions: 3n });
      expect(after.avgSessionDurationMs).toBeCloseTo((80 * 60_000 + 3_600_000) / 2, 6);
    } finally {
      await store.close();
      await db.drop();
    }
  });
});

describe.each(kinds.filter((k) => k === "postgres"))("the audit tile keys migration on the %s store", () => {
  it("keys the tiles appended before it, so each event's log entry is found where the lookup before it found it", async () => {
    const db = await createTestDatabase();
    const store = await openDatabase({ kind: "postgres", databaseUrl: db.url, poolSize: 1 }, recordingLog().log);
    try {
      // Transactions of two tenants, appended a round at a time, so tiles start inside transactions
      // and span two: the first stored before stored_xid existed (NULL, appended as 0), the others
      // given ids that sort otherwise as text (9, 10) or as little-endian bytes (255, 256), each
      // pair in one round. Their event ids interleave, and some are not ASCII.
      const transactions = [
        { round: 0, xid: null, size: 20, suffix: "z" },
        { round: 1, xid: "9", size: 5, suffix: "é" },
        { round: 1, xid: "10", size: 5, suffix: "y" },
        { round: 2, xid: "255", size: 20, suffix: "w" },
        { round: 2, xid: "256", size: 7, suffix: "\u{10000}" },
      ];
      const records = transactions.map(({ size, suffix }) =>
        ["x", "y"].flatMap((tenantId) =>
          Array.from({ length: size }, (_, i) => eventRecord({ tenantId, eventId: `${i}-${suffix}` })),
        ),
      );
      for (const [n, { round, xid, suffix }] of transactions.entries()) {
        await store.insertEvents(ALL_TENANTS, records[n]);
        const stored = xid === null ? "NULL" : `'${xid}'`;
        await tamperWith(
          db.url,
          `UPDATE events SET stored_xid = ${stored} WHERE event_id LIKE '%-${suffix}';
           UPDATE ingest_queue SET stored_xid = ${stored} WHERE event_id LIKE '%-${suffix}'`,
        );
        if (transactions[n + 1]?.round !== round) await integrateQueued(store.audit);
      }
      const positions = () =>
        Promise.all(
          records.flat().map(async (r) => (await store.audit.entry(ALL_TENANTS, r.tenantId, r.eventId))?.position),
        );

      const name = "1764240000000_audit-tile-keys";
      const count = MIGRATIONS.length - MIGRATIONS.indexOf(name);
      await withPostgres(db.url, (client) => runMigrations(client, "down", count));
      const found = await positions(); // by the lookup the migration replaces
      expect(found.filter((position) => position === undefined)).toEqual([]);
      await withPostgres(db.url, async (client) => {
        await runMigrations(client, "up", count);
        const { rows } = await client.query(
          "SELECT count(*)::int AS tiles, count(*) FILTER (WHERE first_xid = '0')::int AS of_xid_0 FROM audit_leaf_tiles",
        );
        expect(rows[0].tiles).toBeGreaterThan(8);
        expect(rows[0].of_xid_0).toBeGreaterThan(0);
      });
      expect(await positions()).toEqual(found);
    } finally {
      await store.close();
      await db.drop();
    }
  });
});

describe.each(kinds.filter((k) => k === "embedded"))("migrations on the %s store", () => {
  const root = mkdtempSync(join(tmpdir(), "chaukas-migrate-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("applies each migration once to a data directory opened again", { timeout: 60_000 }, async () => {
    const dataDir = join(root, "data");
    const first = recordingLog();
    const store = await openDatabase({ kind: "embedded", dataDir }, first.log);
    await store.insertEvents(ALL_TENANTS, [eventRecord({ tenantId: "migrations", eventId: "kept" })]);
    await store.close();

    const again = recordingLog();
    const reopened = await openDatabase({ kind: "embedded", dataDir }, again.log);
    try {
      expect(await eventIds(reopened)).toEqual(["kept"]);
    } finally {
      await reopened.close();
    }
    expect(first.applied).toEqual(MIGRATIONS);
    expect(again.applied).toEqual([]);

    const db = await PGlite.create(dataDir);
    try {
      const { rows } = await db.query<{ name: string }>("SELECT name FROM schema_migrations ORDER BY id");
      expect(rows.map((r) => r.name)).toEqual(MIGRATIONS);
    } finally {
      await db.close();
    }
  });
});

/**
 * The schema as the catalog describes it: tables and columns (with storage and compression),
 * indexes, constraints, triggers, policies, functions, row-level security and privileges; the
 * migrations table aside.
 */
async function schemaOf(client: pg.Client): Promise<string[]> {
  const queries = [
    `SELECT format('column %s.%s %s %s null=%s default=%s storage=%s compression=%s', c.relname, a.attname,
       format_type(a.atttypid, a.atttypmod), a.attgenerated, NOT a.attnotnull, pg_get_expr(d.adbin, d.adrelid),
       a.attstorage, a.attcompression)
     FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped`,
    `SELECT format('table %s rls=%s force=%s', relname, relrowsecurity, relforcerowsecurity)
     FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p')`,
    `SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public'`,
    `SELECT format('constraint %s %s', conrelid::regclass, pg_get_constraintdef(oid))
     FROM pg_constraint WHERE connamespace = 'public'::regnamespace`,
    `SELECT format('trigger %s enabled=%s', pg_get_triggerdef(oid), tgenabled) FROM pg_trigger
     WHERE NOT tgisinternal AND tgrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace)`,
    `SELECT format('policy %s %s %s %s %s %s', tablename, policyname, cmd, roles, qual, with_check)
     FROM pg_policies WHERE schemaname = 'public'`,
    `SELECT format('function %s %s %s', p.oid::regprocedure, p.proleakproof, p.prosrc)
     FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace`,
    `SELECT format('grant %s %s %s', table_name, grantee, privilege_type)
     FROM information_schema.role_table_grants WHERE table_schema = 'public' AND grantee <> 'postgres'`,
  ];
  const lines: string[] = [];
  for (const sql of queries) {
    const { rows } = await client.query<Record<string, string>>(sql);
    lines.push(...rows.map((row) => Object.values(row)[0]));
  }
  // node-pg-migrate's own bookkeeping table is there from the first step on.
  return lines.filter((line) => !line.includes("schema_migrations")).sort();
}

describe.each(kinds.filter((k) => k === "postgres"))("every migration's down step on the %s store", () => {
  it("undoes exactly its up step on a copy of a populated database, down to none, and all apply again", {
    timeout: 120_000,
  }, async () => {
    // The schema after each number of migrations, step by step on an empty database.
    const fresh = await createTestDatabase();
    const steps: string[][] = [];
    await withPostgres(fresh.url, async (client) => {
      steps.push(await schemaOf(client));
      for (const _ of MIGRATIONS) {
        await runMigrations(client, "up", 1);
        steps.push(await schemaOf(client));
      }
    });
    await fresh.drop();
    // Each migration changes the schema, so each comparison below tells one step from its neighbours;
    // but for those that only act where an extension is installed (Citus), a no-op here.
    const extensionOnly = new Set(["1764215000000_citus-reference-tables"]);
    for (let i = 1; i < steps.length; i++) {
      const name = MIGRATIONS[i - 1];
      if (extensionOnly.has(name)) expect(steps[i], name).toEqual(steps[i - 1]);
      else expect(steps[i], name).not.toEqual(steps[i - 1]);
    }

    // A database with data in every table a migration touches: events, keys, audit log, rollups.
    const populated = await createTestDatabase();
    const store = await openDatabase({ kind: "postgres", databaseUrl: populated.url, poolSize: 1 }, recordingLog().log);
    await store.insertEvents(
      ALL_TENANTS,
      ["a", "b", "c"].flatMap((tenantId) =>
        [1, 2].map((n) => eventRecord({ tenantId, eventId: `${tenantId}-${n}`, sessionId: `s-${n}`, type: n })),
      ),
    );
    await integrateQueued(store.audit);
    await store.insertEvents(ALL_TENANTS, [eventRecord({ tenantId: "a", eventId: "a-queued" })]);
    await createApiKey(store.keys, { tenantId: "a", role: "admin", projects: [] });
    await store.close();

    const copy = await copyOfDatabase(populated.url);
    try {
      await withPostgres(copy.url, async (client) => {
        expect(await schemaOf(client)).toEqual(steps[MIGRATIONS.length]);
        for (let applied = MIGRATIONS.length; applied > 0; applied--) {
          const undone = await runMigrations(client, "down", 1);
          expect(undone.map((m) => m.name)).toEqual([MIGRATIONS[applied - 1]]);
          expect(await schemaOf(client), `after undoing ${MIGRATIONS[applied - 1]}`).toEqual(steps[applied - 1]);
        }
        const reapplied = await runMigrations(client, "up", MIGRATIONS.length);
        expect(reapplied.map((m) => m.name)).toEqual(MIGRATIONS);
        expect(await schemaOf(client)).toEqual(steps[MIGRATIONS.length]);
      });
      // The store works on the schema built again.
      const again = await openDatabase({ kind: "postgres", databaseUrl: copy.url, poolSize: 1 }, recordingLog().log);
      try {
        await again.insertEvents(ALL_TENANTS, [eventRecord({ tenantId: "migrations", eventId: "after" })]);
        expect(await eventIds(again)).toEqual(["after"]);
      } finally {
        await again.close();
      }
      // The original is untouched by what was done to its copy.
      await withPostgres(populated.url, async (client) => {
        expect((await client.query("SELECT count(*)::int AS n FROM events")).rows[0].n).toBe(7);
      });
    } finally {
      await copy.drop();
      await populated.drop();
    }
  });
});

/** A new database made from `url`'s as its template (no one may be connected to that one meanwhile). */
async function copyOfDatabase(url: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const source = new URL(url).pathname.slice(1);
  const name = `${source}_copy`;
  await withPostgres(ADMIN_URL, async (admin) => {
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${source}`);
  });
  const copy = new URL(url);
  copy.pathname = `/${name}`;
  return {
    url: copy.toString(),
    drop: () =>
      withPostgres(
        ADMIN_URL,
        async (admin) => void (await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)),
      ),
  };
}
