import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/store/database.ts";
import type { EventRecord, StoredEvent } from "../../src/store/event-store.ts";
import { DEFAULT_GROUP_COMMIT } from "../../src/store/sql/event-store.ts";
import type { TenantScope } from "../../src/store/tenant-scope.ts";
import { openTestStore, storeKinds } from "../support/databases.ts";
import { eventRecord } from "../support/records.ts";

/** Group commit: inserts of one scope made together share transactions, split among its free writers. */

const T0 = 1_764_072_000_000_000_000n;

function records(tenantId: string, prefix: string, count: number): EventRecord[] {
  return Array.from({ length: count }, (_, i) =>
    eventRecord({ tenantId, eventId: `${prefix}-${i}`, timestampNs: T0 + BigInt(i) }),
  );
}

async function stored(store: Database, scope: TenantScope, tenantId: string): Promise<StoredEvent[]> {
  return store.queryEvents(scope, { filter: { tenantId }, ascending: true, limit: 100_000 });
}

describe.each(await storeKinds())("group commit on the %s store", (kind) => {
  let store: Database;
  let close: () => Promise<void>;
  let url: string | undefined;

  beforeAll(async () => {
    ({ store, close, url } = await openTestStore(kind));
  });
  afterAll(async () => {
    await close();
  });

  it("settles each insert with its own outcome when a group fails, and stores the others' records", async () => {
    const scope = { tenantId: "isolated" };
    const bad = eventRecord({ tenantId: "isolated", eventId: null as unknown as string });
    // Made together, so they are tried as one group first.
    const inserts = [
      records("isolated", "plain-a", 50),
      records("isolated", "plain-b", 50),
      records("isolated", "ok-1", 3),
      [...records("isolated", "poisoned", 3), bad],
      records("isolated", "ok-2", 3),
    ];
    const results = await Promise.allSettled(inserts.map((r) => store.insertEvents(scope, r)));

    expect(results.map((r) => r.status)).toEqual(["fulfilled", "fulfilled", "fulfilled", "rejected", "fulfilled"]);
    expect(String((results[3] as PromiseRejectedResult).reason)).toMatch(/null value/);
    const ids = (await stored(store, scope, "isolated")).map((e) => e.eventId);
    expect(ids.filter((id) => id.startsWith("poisoned"))).toEqual([]);
    expect(ids.filter((id) => id.startsWith("ok-")).sort()).toEqual(
      ["ok-1-0", "ok-1-1", "ok-1-2", "ok-2-0", "ok-2-1", "ok-2-2"].sort(),
    );
    expect(ids).toHaveLength(106);
  });

  it.skipIf(kind !== "postgres")("groups inserts made together, split among the free writers", async () => {
    const big = DEFAULT_GROUP_COMMIT.maxGroupEvents - 100;
    // All in one turn of the event loop. Tenant "grouped": 2,207 events for two writers, each
    // taking at most maxGroupEvents: the first five (407; big-1 would pass it), then big-1 alone,
    // then big-2 alone.
    const grouped = [
      records("grouped", "first", 200),
      records("grouped", "second", 200),
      records("grouped", "small-1", 1),
      records("grouped", "small-2", 5),
      records("grouped", "small-3", 1),
      records("grouped", "big-1", big),
      records("grouped", "big-2", big),
    ];
    // Another tenant has writers of its own, which split its work: two batches side by side,
    // and 16 single events as two groups of 8.
    const pair = [records("other", "batch-1", 500), records("other", "batch-2", 500)];
    const singles = Array.from({ length: 16 }, (_, i) => records("third", `single${i}`, 1));
    await Promise.all([
      ...grouped.map((r) => store.insertEvents({ tenantId: "grouped" }, r)),
      ...pair.map((r) => store.insertEvents({ tenantId: "other" }, r)),
      ...singles.map((r) => store.insertEvents({ tenantId: "third" }, r)),
    ]);

    const xmin = await transactionsOf(url as string);
    expect(new Set(["first", "second", "small-1", "small-2", "small-3"].map(xmin)).size).toBe(1);
    expect(new Set([xmin("first"), xmin("big-1"), xmin("big-2")]).size).toBe(3);
    expect(xmin("batch-1")).not.toBe(xmin("batch-2"));
    const singleXmins = singles.map((_, i) => xmin(`single${i}`));
    expect(new Set(singleXmins.slice(0, 8)).size).toBe(1);
    expect(new Set(singleXmins.slice(8)).size).toBe(1);
    expect(singleXmins[8]).not.toBe(singleXmins[0]);
  });
});

/**
 * The transaction (xmin) that stored each insert's records, by the insert's id prefix (the event
 * id without its `-<n>`); fails if one insert's records were stored by more than one.
 */
async function transactionsOf(url: string): Promise<(prefix: string) => string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ prefix: string; xmins: string[] }>(
      `SELECT regexp_replace(event_id, '-[0-9]+$', '') AS prefix, array_agg(DISTINCT xmin::text) AS xmins
       FROM events GROUP BY 1`,
    );
    const byPrefix = new Map(rows.map((row) => [row.prefix, row.xmins]));
    return (prefix) => {
      const xmins = byPrefix.get(prefix);
      expect(xmins, prefix).toHaveLength(1);
      return (xmins as string[])[0];
    };
  } finally {
    await client.end();
  }
}
