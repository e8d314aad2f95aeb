import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Random } from "../../kit/random.ts";
import type { Database } from "../../src/store/database.ts";
import type { StoredEvent } from "../../src/store/event-store.ts";
import { ALL_TENANTS } from "../../src/store/tenant-scope.ts";
import { openTestStore, storeKinds } from "../support/databases.ts";
import { eventRecord } from "../support/records.ts";

/** The Database contract, on the records the domain hands it (no protobuf involved). */

const T0 = 1_764_072_000_000_000_000n;

async function stored(store: Database, tenantId: string): Promise<StoredEvent[]> {
  return store.queryEvents(ALL_TENANTS, { filter: { tenantId }, ascending: true, limit: 100_000 });
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");

describe.each(await storeKinds())("Database contract on the %s store", (kind) => {
  let store: Database;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ store, close } = await openTestStore(kind));
  });
  afterAll(async () => {
    await close();
  });

  it("stores a re-inserted (tenant, event_id) once and keeps the first version", async () => {
    const first = eventRecord({ tenantId: "reinsert", eventId: "e1", payload: Uint8Array.of(1, 2, 3) });
    await store.insertEvents(ALL_TENANTS, [first]);
    await store.insertEvents(ALL_TENANTS, [{ ...first, payload: Uint8Array.of(9, 9), timestampNs: T0 + 5n }]);
    await store.insertEvents(ALL_TENANTS, [first]);

    const rows = await stored(store, "reinsert");
    expect(rows).toHaveLength(1);
    expect(rows[0].eventId).toBe("e1");
    expect(rows[0].timestampNs).toBe(T0);
    expect(hex(rows[0].payload)).toBe("010203");
  });

  it("stores duplicates within one batch once", async () => {
    const a = eventRecord({ tenantId: "dup-batch", eventId: "a" });
    const b = eventRecord({ tenantId: "dup-batch", eventId: "b", timestampNs: T0 + 1n });
    await store.insertEvents(ALL_TENANTS, [a, b, { ...a, payload: Uint8Array.of(7) }, b, a]);

    const rows = await stored(store, "dup-batch");
    expect(rows.map((r) => r.eventId)).toEqual(["a", "b"]);
    expect(["61", "07"]).toContain(hex(rows[0].payload));
  });

  it("treats the same event_id in another tenant as a different event", async () => {
    await store.insertEvents(ALL_TENANTS, [
      eventRecord({ tenantId: "tenant-x", eventId: "shared", payload: Uint8Array.of(0x0a) }),
      eventRecord({ tenantId: "tenant-y", eventId: "shared", payload: Uint8Array.of(0x0b) }),
    ]);
    await store.insertEvents(ALL_TENANTS, [
      eventRecord({ tenantId: "tenant-y", eventId: "shared", payload: Uint8Array.of(0xff) }),
    ]);

    const x = await stored(store, "tenant-x");
    const y = await stored(store, "tenant-y");
    expect(x.map((r) => [r.eventId, hex(r.payload)])).toEqual([["shared", "0a"]]);
    expect(y.map((r) => [r.eventId, hex(r.payload)])).toEqual([["shared", "0b"]]);
  });

  it("returns payload bytes exactly as given", async () => {
    const random = new Random(7);
    const everyByte = Uint8Array.from({ length: 256 }, (_, i) => i);
    // A view into a larger buffer: only the viewed bytes must be stored.
    const backing = Uint8Array.from({ length: 64 }, (_, i) => 0xf0 ^ i);
    const view = backing.subarray(10, 30);
    const large = Uint8Array.from({ length: 1 << 20 }, () => random.int(256));
    const payloads: Record<string, Uint8Array> = {
      empty: new Uint8Array(0),
      zero: Uint8Array.of(0),
      "every-byte": everyByte,
      view,
      large,
    };
    await store.insertEvents(
      ALL_TENANTS,
      Object.entries(payloads).map(([eventId, payload]) => eventRecord({ tenantId: "payloads", eventId, payload })),
    );

    const rows = await stored(store, "payloads");
    expect(Object.fromEntries(rows.map((r) => [r.eventId, hex(r.payload)]))).toEqual(
      Object.fromEntries(Object.entries(payloads).map(([id, p]) => [id, hex(p)])),
    );
  });

  it("treats an empty batch as a no-op", async () => {
    await store.insertEvents(ALL_TENANTS, [eventRecord({ tenantId: "empty-batch", eventId: "only" })]);
    await expect(store.insertEvents(ALL_TENANTS, [])).resolves.toBeUndefined();
    expect((await stored(store, "empty-batch")).map((r) => r.eventId)).toEqual(["only"]);
  });

  it("stores a 2,000-record batch in one insert", async () => {
    const records = Array.from({ length: 2000 }, (_, i) =>
      eventRecord({ tenantId: "large", eventId: `e${String(i).padStart(4, "0")}`, timestampNs: T0 + BigInt(i) }),
    );
    await store.insertEvents(ALL_TENANTS, records);

    const rows = await stored(store, "large");
    expect(rows.map((r) => r.eventId)).toEqual(records.map((r) => r.eventId));
    expect(rows.map((r) => r.timestampNs)).toEqual(records.map((r) => r.timestampNs));
  });

  it("stores none of a batch when one record violates a database constraint", async () => {
    await store.insertEvents(ALL_TENANTS, [eventRecord({ tenantId: "atomic", eventId: "before" })]);
    const records = Array.from({ length: 2000 }, (_, i) => eventRecord({ tenantId: "atomic", eventId: `e${i}` }));
    // The last row breaks NOT NULL on event_id, so the rows before it are already inserted when it fails.
    records.push(eventRecord({ tenantId: "atomic", eventId: null as unknown as string }));

    await expect(store.insertEvents(ALL_TENANTS, records)).rejects.toThrow(/null value/);
    expect((await stored(store, "atomic")).map((r) => r.eventId)).toEqual(["before"]);
  });

  it("refuses a content hash that is not a SHA-256, storing none of the batch", async () => {
    const short = { ...eventRecord({ tenantId: "hash-size", eventId: "short" }), contentHash: new Uint8Array(31) };
    await expect(
      store.insertEvents(ALL_TENANTS, [eventRecord({ tenantId: "hash-size", eventId: "fine" }), short]),
    ).rejects.toThrow(/32 bytes, not 31/);
    expect(await stored(store, "hash-size")).toEqual([]);
  });

  it("answers every later statement correctly after a failed one", async () => {
    const bad = eventRecord({ tenantId: "after-failure", eventId: null as unknown as string });
    await expect(store.insertEvents(ALL_TENANTS, [bad])).rejects.toThrow(/null value/);
    // Sequential, then concurrent with more failures interleaved: each gets its own answer.
    await store.insertEvents(ALL_TENANTS, [eventRecord({ tenantId: "after-failure", eventId: "a" })]);
    expect((await stored(store, "after-failure")).map((r) => r.eventId)).toEqual(["a"]);
    const results = await Promise.allSettled([
      store.insertEvents(ALL_TENANTS, [bad]),
      store.insertEvents(ALL_TENANTS, [eventRecord({ tenantId: "after-failure", eventId: "b", timestampNs: T0 + 1n })]),
      store.insertEvents(ALL_TENANTS, [bad]),
      store.insertEvents(ALL_TENANTS, [eventRecord({ tenantId: "after-failure", eventId: "c", timestampNs: T0 + 2n })]),
    ]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "fulfilled", "rejected", "fulfilled"]);
    expect((await stored(store, "after-failure")).map((r) => r.eventId)).toEqual(["a", "b", "c"]);
    await expect(store.ping()).resolves.toBeUndefined();
  });
});
