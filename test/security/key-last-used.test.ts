import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { KeyAuthenticator } from "../../src/core/authenticator.ts";
import { createApiKey } from "../../src/core/key-admin.ts";
import type { Database } from "../../src/store/database.ts";
import type { KeyStore } from "../../src/store/key-store.ts";
import { openTestStore, storeKinds } from "../support/databases.ts";

const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);

/**
 * The store's key table, with each last_used_at write kept so a test can wait for it: the
 * authenticator writes without waiting (a slow write must not slow the request).
 */
function watchedWrites(keys: KeyStore): { keys: KeyStore; settled: () => Promise<Date[]> } {
  const writes: Promise<Date>[] = [];
  const watched = new Proxy(keys, {
    get(target, property, receiver) {
      if (property === "recordKeyUse") {
        return (id: string, at: Date) => {
          const write = target.recordKeyUse(id, at);
          writes.push(write.then(() => at));
          return write;
        };
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { keys: watched, settled: () => Promise.all(writes) };
}

describe.each(await storeKinds())("last_used_at of API keys (%s store)", (kind) => {
  let store: Database;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ store, close } = await openTestStore(kind));
  });
  afterAll(() => close());
  // Only Date is faked: the store's I/O and timers run as usual.
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(T0);
  });
  afterEach(() => vi.useRealTimers());

  const lastUsed = async (id: string) => (await store.keys.findKey(id))?.lastUsedAt?.toISOString();
  const at = (ms: number) => new Date(T0 + ms).toISOString();

  it("is empty until the key is used, then the time of its use", async () => {
    const { key, secret } = await createApiKey(store.keys, { tenantId: "acme", role: "read", projects: [] });
    expect(await lastUsed(key.id)).toBeUndefined();
    const { keys, settled } = watchedWrites(store.keys);
    await new KeyAuthenticator(keys, undefined, () => {}).authenticate({ authorization: `Bearer ${secret}` });
    await settled();
    expect(await lastUsed(key.id)).toBe(at(0));
  });

  it("is written at most once a minute per key by one process", async () => {
    const { key, secret } = await createApiKey(store.keys, { tenantId: "acme", role: "read", projects: [] });
    const other = await createApiKey(store.keys, { tenantId: "acme", role: "read", projects: [] });
    const { keys, settled } = watchedWrites(store.keys);
    const authenticator = new KeyAuthenticator(keys, undefined, () => {});
    const use = (s: string) => authenticator.authenticate({ apiKey: s });

    await use(secret);
    vi.setSystemTime(T0 + 30_000);
    await use(secret);
    // Another key has a minute of its own.
    await use(other.secret);
    vi.setSystemTime(T0 + 59_999);
    await use(secret);
    expect((await settled()).map((d) => d.toISOString())).toEqual([at(0), at(30_000)]);
    expect(await lastUsed(key.id)).toBe(at(0));
    expect(await lastUsed(other.key.id)).toBe(at(30_000));

    vi.setSystemTime(T0 + 60_000);
    await use(secret);
    expect((await settled()).map((d) => d.toISOString())).toEqual([at(0), at(30_000), at(60_000)]);
    expect(await lastUsed(key.id)).toBe(at(60_000));
  });

  it("is written by each process on its own (each counts its own minute)", async () => {
    const { key, secret } = await createApiKey(store.keys, { tenantId: "acme", role: "read", projects: [] });
    const first = watchedWrites(store.keys);
    const second = watchedWrites(store.keys);
    await new KeyAuthenticator(first.keys, undefined, () => {}).authenticate({ apiKey: secret });
    vi.setSystemTime(T0 + 10_000);
    await new KeyAuthenticator(second.keys, undefined, () => {}).authenticate({ apiKey: secret });
    expect((await first.settled()).length + (await second.settled()).length).toBe(2);
    expect(await lastUsed(key.id)).toBe(at(10_000));
  });
});
