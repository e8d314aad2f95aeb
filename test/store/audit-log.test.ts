import { createHash } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CompactRange, type NodeId } from "../../src/lib/merkle.ts";
import type { Database } from "../../src/store/database.ts";
import { ALL_TENANTS } from "../../src/store/tenant-scope.ts";
import { createTestDatabase, openTestStore, type StoreKind, storeKinds } from "../support/databases.ts";
import { eventRecord } from "../support/records.ts";
import { tamperWith } from "../support/tamper.ts";

/** The audit log as the store keeps it, checked against RFC 6962 hashing written out here. */

const sha256 = (...parts: Uint8Array[]) => {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part);
  return new Uint8Array(hash.digest());
};
const leaf = (data: Uint8Array) => sha256(Uint8Array.of(0), data);
const node = (l: Uint8Array, r: Uint8Array) => sha256(Uint8Array.of(1), l, r);
/** RFC 6962 section 2.1 MTH, by its recursive definition. */
function mth(leaves: Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return sha256();
  if (leaves.length === 1) return leaf(leaves[0]);
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return node(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

describe.each(await storeKinds())("audit log on the %s store", (kind: StoreKind) => {
  let store: Database;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ store, close } = await openTestStore(kind));
  });
  afterAll(() => close());

  const records = (tenantId: string, ids: string[]) => ids.map((eventId) => eventRecord({ tenantId, eventId }));
  /** Stores the records, then runs the integrator as a server's ingest queue drain would. */
  const ingest = async (batch: ReturnType<typeof records>) => {
    await store.insertEvents(ALL_TENANTS, batch);
    await store.audit.integrate(10_000);
  };

  it("appends each new event once, by transaction then event id, chained by hash_prev", async () => {
    await ingest(records("chain", ["c", "a", "b"]));
    // A repeat is not appended again, within a batch or across batches.
    await ingest(records("chain", ["e", "a", "d", "d", "c"]));
    const entries = await store.audit.entries(ALL_TENANTS, "chain", 0n, 100);
    expect(entries.map((e) => [e.position, e.eventId])).toEqual([
      [0n, "a"],
      [1n, "b"],
      [2n, "c"],
      [3n, "d"],
      [4n, "e"],
    ]);
    for (const [i, entry] of entries.entries()) {
      expect(hex(entry.contentHash)).toBe(hex(sha256(new TextEncoder().encode(entry.eventId))));
      expect(hex(entry.hashPrev)).toBe(i === 0 ? "" : hex(entries[i - 1].contentHash));
    }
    const head = await store.audit.head(ALL_TENANTS, "chain");
    expect(head?.size).toBe(5n);
  });

  it("queues stored events until the integrator appends them, a bounded chunk at a time", async () => {
    await store.insertEvents(ALL_TENANTS, records("queue", ["q1", "q2", "q3"]));
    expect(await store.audit.pendingEvents(ALL_TENANTS, "queue")).toBe(3);
    // Counted within projects for a key limited to them: none of these is in another project.
    const project = records("queue", ["q1"])[0].projectId;
    expect(await store.audit.pendingEvents(ALL_TENANTS, "queue", "q1", [project])).toBe(1);
    expect(await store.audit.pendingEvents(ALL_TENANTS, "queue", "q1", [`not-${project}`])).toBe(0);
    expect(await store.audit.entries(ALL_TENANTS, "queue", 0n, 10)).toEqual([]);
    // Queued is not outside the log: verification tells them apart.
    expect(await store.audit.eventsOutsideLog(ALL_TENANTS, "queue", 10)).toEqual([]);
    expect(await store.audit.integrate(2)).toBe(2);
    expect(await store.audit.integrate(10)).toBeGreaterThanOrEqual(1);
    expect(await store.audit.pendingEvents(ALL_TENANTS, "queue")).toBe(0);
    const entries = await store.audit.entries(ALL_TENANTS, "queue", 0n, 10);
    expect(entries.map((e) => [e.position, e.eventId])).toEqual([
      [0n, "q1"],
      [1n, "q2"],
      [2n, "q3"],
    ]);
  });

  it("keeps one log per tenant, even for a batch that mixes tenants", async () => {
    await ingest([
      eventRecord({ tenantId: "mix-b", eventId: "1" }),
      eventRecord({ tenantId: "mix-a", eventId: "1" }),
      eventRecord({ tenantId: "mix-b", eventId: "2" }),
    ]);
    const a = await store.audit.entries(ALL_TENANTS, "mix-a", 0n, 10);
    const b = await store.audit.entries(ALL_TENANTS, "mix-b", 0n, 10);
    expect(a.map((e) => [e.position, e.eventId])).toEqual([[0n, "1"]]);
    expect(b.map((e) => [e.position, e.eventId])).toEqual([
      [0n, "1"],
      [1n, "2"],
    ]);
  });

  it("keeps the head's compact range equal to the RFC 6962 root, and every subtree hash right", async () => {
    const tenant = "tree";
    const ids: string[] = [];
    // Batches of varied sizes, so appends start and end at every alignment.
    for (let batch = 1; ids.length < 140; batch++) {
      // Zero-padded: within a transaction the log is in event id order, here the order given.
      const next = Array.from({ length: batch % 7 || 3 }, (_, i) => `e${String(ids.length + i).padStart(3, "0")}`);
      await ingest(records(tenant, next));
      ids.push(...next);
      const head = await store.audit.head(ALL_TENANTS, tenant);
      const leaves = ids.map((id) => sha256(new TextEncoder().encode(id)));
      const root = new CompactRange(Number(head?.size), head?.compactRange ?? []).root();
      expect(hex(root)).toBe(hex(mth(leaves)));
    }
    const leaves = ids.map((id) => sha256(new TextEncoder().encode(id)));
    const subtrees: NodeId[] = [];
    for (let level = 0; 2 ** level <= ids.length; level++) {
      for (let index = 0; (index + 1) * 2 ** level <= ids.length; index++) subtrees.push({ level, index });
    }
    const hashes = await store.audit.subtreeHashes(ALL_TENANTS, tenant, subtrees);
    subtrees.forEach((id, i) => {
      const width = 2 ** id.level;
      expect(hex(hashes[i]), `${id.level}/${id.index}`).toBe(
        hex(mth(leaves.slice(id.index * width, (id.index + 1) * width))),
      );
    });
  });

  it("fills each queried event's log entry and, once signed, its first checkpoint", async () => {
    const batch = records("read", ["x", "y"]);
    await ingest(batch);
    const before = await store.queryEvents(ALL_TENANTS, { filter: { tenantId: "read" }, ascending: true, limit: 10 });
    expect(before.map((e) => [e.eventId, e.logEntry?.position, e.logEntry?.checkpointSize])).toEqual([
      ["x", 0n, undefined],
      ["y", 1n, undefined],
    ]);
    await store.audit.addCheckpoint({ tenantId: "read", size: 1n, rootHash: new Uint8Array(32), note: "n1" });
    await store.audit.addCheckpoint({ tenantId: "read", size: 2n, rootHash: new Uint8Array(32), note: "n2" });
    const after = await store.queryEvents(ALL_TENANTS, { filter: { tenantId: "read" }, ascending: true, limit: 10 });
    expect(after.map((e) => e.logEntry?.checkpointSize)).toEqual([1n, 2n]);
    // The hashes in the lowercase hex events carry; the first leaf has no previous one.
    expect(after.map((e) => [e.logEntry?.contentHash, e.logEntry?.hashPrev])).toEqual([
      [hex(batch[0].contentHash), ""],
      [hex(batch[1].contentHash), hex(batch[0].contentHash)],
    ]);
  });

  it("lists the heads ahead of their latest checkpoint, and keeps the first checkpoint of a size", async () => {
    await ingest(records("ahead", ["1", "2"]));
    expect((await store.audit.headsAhead()).map((h) => h.tenantId)).toContain("ahead");
    await store.audit.addCheckpoint({ tenantId: "ahead", size: 2n, rootHash: new Uint8Array(32), note: "first" });
    await store.audit.addCheckpoint({ tenantId: "ahead", size: 2n, rootHash: new Uint8Array(32), note: "second" });
    expect((await store.audit.headsAhead()).map((h) => h.tenantId)).not.toContain("ahead");
    expect((await store.audit.checkpoint(ALL_TENANTS, "ahead"))?.note).toBe("first");
  });

  it("stores events without leaves when the trail is disabled", async () => {
    const off = await openTestStore(kind, { auditTrail: false });
    try {
      await off.store.insertEvents(ALL_TENANTS, records("off", ["1", "2"]));
      expect(await off.store.audit.pendingEvents(ALL_TENANTS, "off")).toBe(0);
      // Taken off the queue for the stats rollups, not appended.
      expect(await off.store.audit.integrate(10)).toBe(2);
      expect((await off.store.eventStats(ALL_TENANTS, { tenantId: "off" })).totalEvents).toBe(2n);
      expect(await off.store.audit.entries(ALL_TENANTS, "off", 0n, 10)).toEqual([]);
      expect(await off.store.audit.eventsOutsideLog(ALL_TENANTS, "off", 10)).toEqual(["1", "2"]);
    } finally {
      await off.close();
    }
  });
});

describe.runIf((await storeKinds()).includes("postgres"))("the log's order on PostgreSQL", () => {
  it("appends no event while an older transaction of its database is open, whatever other databases hold open", async () => {
    const opened = await openTestStore("postgres");
    const other = await createTestDatabase();
    const clients = [opened.url, other.url].map((url) => new pg.Client({ connectionString: url }));
    const [older, elsewhere] = clients;
    try {
      for (const client of clients) await client.connect();
      // A transaction of this database that has a transaction id, still open.
      await older.query("BEGIN");
      await older.query("SELECT pg_current_xact_id()");
      // Another database's open transaction, newer than that one: it writes nothing here.
      await elsewhere.query("BEGIN");
      await elsewhere.query("SELECT pg_current_xact_id()");
      await opened.store.insertEvents(ALL_TENANTS, [eventRecord({ tenantId: "order", eventId: "b" })]);
      // An event of that older transaction could still sort before "b": nothing is appended yet.
      expect(await opened.store.audit.integrate(100)).toBe(0);
      expect(await opened.store.audit.pendingEvents(ALL_TENANTS, "order")).toBe(1);
      // It stores "a" and ends: "a" goes first though stored last, as its transaction is older.
      await older.query("SELECT set_config('chaukas.tenant_id', 'order', true)");
      await older.query(`CREATE TEMP TABLE queued ON COMMIT DROP AS SELECT * FROM ingest_queue;
        UPDATE queued SET event_id = 'a', stored_xid = pg_current_xact_id();
        INSERT INTO ingest_queue SELECT * FROM queued`);
      await older.query("COMMIT");
      expect(await opened.store.audit.integrate(100)).toBe(2);
      const entries = await opened.store.audit.entries(ALL_TENANTS, "order", 0n, 10);
      expect(entries.map((e) => [e.position, e.eventId])).toEqual([
        [0n, "a"],
        [1n, "b"],
      ]);
    } finally {
      await elsewhere.query("ROLLBACK").catch(() => {});
      for (const client of clients) await client.end().catch(() => {});
      await opened.close();
      await other.drop();
    }
  });

  it("orders transactions by their id's value, then event ids, and finds each event's leaf", async () => {
    const opened = await openTestStore("postgres");
    const { url } = opened;
    if (url === undefined) throw new Error("a PostgreSQL store has a URL");
    try {
      const ids = ["a", "m", "z"];
      await opened.store.insertEvents(
        ALL_TENANTS,
        ids.map((eventId) => eventRecord({ tenantId: "xids", eventId })),
      );
      // As if stored by three transactions: 9 < 10 < 100, though '10' < '100' < '9' as text.
      await tamperWith(
        url,
        `UPDATE ingest_queue SET stored_xid = (CASE event_id WHEN 'z' THEN '9' WHEN 'a' THEN '10' ELSE '100' END)::xid8;
        UPDATE events SET stored_xid = q.stored_xid FROM ingest_queue q WHERE q.event_id = events.event_id`,
      );
      expect(await opened.store.audit.integrate(100)).toBe(3);
      const entries = await opened.store.audit.entries(ALL_TENANTS, "xids", 0n, 10);
      expect(entries.map((e) => e.eventId)).toEqual(["z", "a", "m"]);
      for (const [position, id] of ["z", "a", "m"].entries())
        expect((await opened.store.audit.entry(ALL_TENANTS, "xids", id))?.position).toBe(BigInt(position));
    } finally {
      await opened.close();
    }
  });
});

describe.runIf((await storeKinds()).includes("postgres"))("write once, on PostgreSQL", () => {
  let store: Database;
  let close: () => Promise<void>;
  let sql: pg.Client;

  beforeAll(async () => {
    const opened = await openTestStore("postgres");
    ({ store, close } = opened);
    // 16 events: the log then holds a stored subtree node too.
    const events = Array.from({ length: 16 }, (_, i) => eventRecord({ tenantId: "t", eventId: `e${i}` }));
    await store.insertEvents(ALL_TENANTS, events);
    await store.audit.integrate(100);
    await store.audit.addCheckpoint({ tenantId: "t", size: 1n, rootHash: new Uint8Array(32), note: "n" });
    // The database owner, a superuser here: the triggers hold even for it.
    sql = new pg.Client({ connectionString: opened.url });
    await sql.connect();
  });
  afterAll(async () => {
    await sql.end();
    await close();
  });

  it.each([
    ["events", "UPDATE events SET payload = '\\x00'"],
    ["events", "DELETE FROM events"],
    ["events", "TRUNCATE events"],
    ["audit_leaf_tiles", "UPDATE audit_leaf_tiles SET content_hashes = '\\x00'"],
    ["audit_leaf_tiles", "DELETE FROM audit_leaf_tiles"],
    ["audit_leaf_tiles", "TRUNCATE audit_leaf_tiles CASCADE"],
    ["audit_leaves", "TRUNCATE audit_leaves CASCADE"],
    ["audit_checkpoints", "UPDATE audit_checkpoints SET note = 'forged'"],
    ["audit_checkpoints", "DELETE FROM audit_checkpoints"],
    ["audit_nodes", "DELETE FROM audit_nodes"],
  ])("refuses on %s: %s", async (table, statement) => {
    await expect(sql.query(statement)).rejects.toThrow(`${table} is append-only`);
    const leaves = "SELECT sum(cardinality(event_ids))::int AS n FROM audit_leaf_tiles";
    expect((await sql.query(leaves)).rows[0].n).toBe(16);
    expect((await sql.query("SELECT count(*)::int AS n FROM audit_nodes")).rows[0].n).toBe(1);
  });
});
