import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildServer } from "../../src/api/server.ts";
import { eventService } from "../../src/app.ts";
import { KEY_CACHE_MS, KeyAuthenticator } from "../../src/core/authenticator.ts";
import { createApiKey } from "../../src/core/key-admin.ts";
import { RateLimiter } from "../../src/core/rate-limiter.ts";
import { RateLimitedError, UnauthenticatedError } from "../../src/lib/errors.ts";
import type { KeyStore } from "../../src/store/key-store.ts";
import { testAuditTrail } from "../support/audit.ts";
import { openTestStore } from "../support/databases.ts";
import { TEST_SERVER_OPTIONS } from "../support/server.ts";

/**
 * Made-up key ids cost the database one lookup each per cache period, however often and however
 * concurrently they are sent, in bounded memory; and a client address that keeps failing to
 * authenticate is refused with a retry hint before any lookup, while other addresses are served.
 */

const unknownKey = (id: string) => `chk_${id}_${randomBytes(32).toString("base64url")}`;
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

let opened: Awaited<ReturnType<typeof openTestStore>>;
let secret: string;
/** findKey calls that reached the store, per id. */
const lookups = new Map<string, number>();
let counted: KeyStore;

beforeAll(async () => {
  opened = await openTestStore("embedded");
  secret = (await createApiKey(opened.store.keys, { tenantId: "acme", role: "read", projects: [] })).secret;
  const keys = opened.store.keys;
  counted = Object.assign(Object.create(keys), {
    findKey: (id: string) => {
      lookups.set(id, (lookups.get(id) ?? 0) + 1);
      return keys.findKey(id);
    },
  }) as KeyStore;
});
afterAll(async () => {
  await opened?.close();
});

it("names what is wrong with credentials that carry no key", async () => {
  const auth = new KeyAuthenticator(opened.store.keys, undefined, () => {});
  await expect(auth.authenticate({})).rejects.toThrow(
    new UnauthenticatedError("missing API key: send Authorization: Bearer <key> or X-Api-Key: <key>"),
  );
  await expect(auth.authenticate({ authorization: secret })).rejects.toThrow(
    new UnauthenticatedError(
      "the Authorization header is not Bearer <key>: send Authorization: Bearer <key> or X-Api-Key: <key>",
    ),
  );
  await expect(auth.authenticate(bearer(secret))).resolves.toMatchObject({ tenantId: "acme", role: "read" });
});

describe("unknown key ids", () => {
  it("are looked up once per id and cache period, concurrent requests included", async () => {
    let now = 1_000_000;
    const auth = new KeyAuthenticator(counted, undefined, () => {}, { now: () => now });
    const refused = (id: string) =>
      expect(auth.authenticate(bearer(unknownKey(id)))).rejects.toBeInstanceOf(UnauthenticatedError);

    await Promise.all(Array.from({ length: 20 }, () => refused("unknownaaaaa")));
    for (let i = 0; i < 30; i++) await refused("unknownaaaaa");
    await refused("unknownbbbbb");
    expect(Object.fromEntries(lookups)).toEqual({ unknownaaaaa: 1, unknownbbbbb: 1 });

    now += KEY_CACHE_MS;
    for (let i = 0; i < 10; i++) await refused("unknownaaaaa");
    expect(lookups.get("unknownaaaaa")).toBe(2);
    // Known keys are still checked as before.
    await expect(auth.authenticate(bearer(secret))).resolves.toMatchObject({ tenantId: "acme" });
  });

  it("are remembered in bounded memory: past the bound, the least recently seen is looked up again", async () => {
    lookups.clear();
    const auth = new KeyAuthenticator(counted, undefined, () => {}, { now: () => 0, unknownKeyCacheSize: 3 });
    const refuse = (id: string) => auth.authenticate(bearer(unknownKey(id))).catch(() => {});
    for (const id of ["boundedaaaaa", "boundedbbbbb", "boundedccccc", "boundedddddd"]) await refuse(id);
    await refuse("boundedaaaaa"); // dropped for the fourth: a lookup again
    await refuse("boundedddddd"); // remembered
    expect(Object.fromEntries(lookups)).toEqual({
      boundedaaaaa: 2,
      boundedbbbbb: 1,
      boundedccccc: 1,
      boundedddddd: 1,
    });
  });
});

describe("failed authentications per client address", () => {
  it("past the limit refuse that address with a retry hint, unread, while others are served", async () => {
    lookups.clear();
    let now = 5_000_000;
    const failureLimiter = new RateLimiter(1, 3, "failed authentications/s from");
    const auth = new KeyAuthenticator(counted, undefined, () => {}, { failureLimiter, now: () => now });
    const from = (clientAddress: string, key: string) => auth.authenticate({ ...bearer(key), clientAddress });

    for (const id of ["failedaaaaaa", "failedbbbbbb", "failedcccccc"]) {
      await expect(from("192.0.2.1", unknownKey(id))).rejects.toBeInstanceOf(UnauthenticatedError);
    }
    const over = await from("192.0.2.1", unknownKey("failedddddd2")).catch((err) => err);
    expect(over).toBeInstanceOf(RateLimitedError);
    expect(over.retryAfterSeconds).toBe(1);
    expect(over.message).toContain("failed authentications/s from 192.0.2.1");
    await expect(from("192.0.2.1", secret)).rejects.toBeInstanceOf(RateLimitedError);
    expect(lookups.has("failedddddd2")).toBe(false);

    await expect(from("192.0.2.2", secret)).resolves.toMatchObject({ tenantId: "acme" });
    now += 1000;
    await expect(from("192.0.2.1", secret)).resolves.toMatchObject({ tenantId: "acme" });
    // A key in the cache costs no lookup: it is served while its address is over the limit.
    for (const id of ["failedeeeeee", "failedffffff", "failedgggggg"])
      await from("192.0.2.1", unknownKey(id)).catch(() => {});
    await expect(from("192.0.2.1", unknownKey("failedhhhhhh"))).rejects.toBeInstanceOf(RateLimitedError);
    await expect(from("192.0.2.1", secret)).resolves.toMatchObject({ tenantId: "acme" });
  });

  it("is enforced end to end: HTTP 429 with Retry-After, and resource_exhausted over RPC", async () => {
    const failureLimiter = new RateLimiter(1, 2, "failed authentications/s from");
    const events = eventService(opened.store, { rbac: true });
    const app = await buildServer(events, {
      ...TEST_SERVER_OPTIONS,
      audit: testAuditTrail(opened.store),
      // A stopped clock: no token comes back while the test runs, however slowly.
      authenticator: new KeyAuthenticator(opened.store.keys, undefined, () => {}, { failureLimiter, now: () => 0 }),
    });
    await app.listen({ host: "127.0.0.1", port: 0 });
    const baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const query = (key: string) =>
      fetch(`${baseUrl}/v1/query`, {
        method: "POST",
        headers: { ...bearer(key), "content-type": "application/json" },
        body: JSON.stringify({ filter: { tenant_id: "acme" } }),
      });
    try {
      expect((await query(unknownKey("httpaaaaaaaa"))).status).toBe(401);
      expect((await query(unknownKey("httpbbbbbbbb"))).status).toBe(401);
      const refused = await query(secret);
      expect(refused.status).toBe(429);
      expect(refused.headers.get("retry-after")).toBe("1");
      const rpc = await fetch(`${baseUrl}/chaukas.spec.server.v1.ChaukasServerService/QueryEvents`, {
        method: "POST",
        headers: { ...bearer(secret), "content-type": "application/json" },
        body: JSON.stringify({ query: { filter: { tenantId: "acme" } } }),
      });
      expect(rpc.status).toBe(429);
      expect(((await rpc.json()) as { code: string }).code).toBe("resource_exhausted");
      expect(rpc.headers.get("retry-after")).toBe("1");
    } finally {
      await app.close();
    }
  });
});
