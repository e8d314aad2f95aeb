import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import type { EventStore } from "../../src/store/event-store.ts";
import { ALL_TENANTS } from "../../src/store/event-store.ts";
import { openEventStore } from "../../src/store/open-store.ts";
import { createTestDatabase, storeKinds } from "../support/databases.ts";
import { eventRecord } from "../support/records.ts";

/** Opening a store migrates its database exactly once, however many processes open it together. */

const MIGRATIONS = readdirSync(fileURLToPath(new URL("../../src/store/migrations", import.meta.url)))
  .filter((f) => f.endsWith(".sql"))
  .map((f) => f.slice(0, -".sql".length))
  .sort();

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
