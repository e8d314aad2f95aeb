import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import { runner } from "node-pg-migrate";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { integrateQueued } from "../../src/domain/audit/audit-trail.ts";
import type { EventStore } from "../../src/store/event-store.ts";
import { ALL_TENANTS } from "../../src/store/event-store.ts";
import { openEventStore } from "../../src/store/open-store.ts";
import { createTestDatabase, storeKinds } from "../support/databases.ts";
import { eventRecord } from "../support/records.ts";

/** Opening a store migrates its database exactly once, however many processes open it together. */

const MIGRATIONS_DIR = fileURLToPath(new URL("../../src/store/migrations", import.meta.url));
const MIGRATIONS = readdirSync(MIGRATIONS_DIR)
  .filter((f) => f.endsWith(".sql"))
  .map((f) => f.slice(0, -".sql".length))
  .sort();

/** Applies (up) or undoes (down) the next `count` migrations with the client, as node-pg-migrate does at start-up. */
function runMigrations(client: pg.Client, direction: "up" | "down", count: number) {
  return runner({
    dbClient: client,
    dir: MIGRATIONS_DIR,
    direction,
    count,
    migrationsTable: "schema_migrations",
    log: () => {},
  });
}

/** A log that records the migrations openEventStore reports applying. */
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

async function eventIds(store: EventStore): Promise<string[]> {
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
      logs.map(({ log }) => openEventStore({ kind: "postgres", databaseUrl: db.url, poolSize: 2 }, log)),
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
      await (await openEventStore({ kind: "postgres", databaseUrl: db.url, poolSize: 1 }, first.log)).close();
      const again = recordingLog();
      await (await openEventStore({ kind: "postgres", databaseUrl: db.url, poolSize: 1 }, again.log)).close();
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

      const store = await openEventStore({ kind: "postgres", databaseUrl: db.url, poolSize: 1 }, recordingLog().log);
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
    const store = await openEventStore({ kind: "postgres", databaseUrl: db.url, poolSize: 1 }, recordingLog().log);
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

describe.each(kinds.filter((k) => k === "embedded"))("migrations on the %s store", () => {
  const root = mkdtempSync(join(tmpdir(), "chaukas-migrate-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("applies each migration once to a data directory opened again", { timeout: 60_000 }, async () => {
    const dataDir = join(root, "data");
    const first = recordingLog();
    const store = await openEventStore({ kind: "embedded", dataDir }, first.log);
    await store.insertEvents(ALL_TENANTS, [eventRecord({ tenantId: "migrations", eventId: "kept" })]);
    await store.close();

    const again = recordingLog();
    const reopened = await openEventStore({ kind: "embedded", dataDir }, again.log);
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
