import { UnauthenticatedError } from "../lib/errors.ts";
import { type AuthFailure, type Metrics, NO_METRICS } from "../lib/metrics.ts";
import type { KeyStore, StoredKey } from "../store/key-store.ts";
import { type Principal, UNRESTRICTED } from "./access.ts";
import { parseKey, secretMatches } from "./api-keys.ts";
import type { RateLimiter } from "./rate-limiter.ts";

/** The credentials a request carries: `Authorization: Bearer <key>` or `X-Api-Key: <key>`. */
export interface Credentials {
  authorization?: string | null;
  apiKey?: string | null;
  /** The address the request came from, for the limit on failed authentications. */
  clientAddress?: string;
}

export interface Authenticator {
  /** Whether keys are checked at all (false with --insecure-no-auth). */
  readonly enforced: boolean;
  authenticate(credentials: Credentials): Promise<Principal>;
}

/** For --insecure-no-auth: everyone may do everything. */
export const NO_AUTH: Authenticator = { enforced: false, authenticate: async () => UNRESTRICTED };

/**
 * How long a key read from the database is trusted: revocation reaches every process within this.
 * An id found in no key is remembered as long, so made-up ids cost one lookup each per period.
 */
export const KEY_CACHE_MS = 1000;
/** Unknown ids remembered at most (the longest remembered dropped first): made-up ids cannot fill memory. */
const UNKNOWN_KEY_CACHE_SIZE = 10_000;
/** last_used_at is written at most this often per key and process. */
const RECORD_USE_EVERY_MS = 60_000;

export interface KeyAuthenticatorOptions {
  /**
   * Failed authentications allowed per client address; while one is over, its requests that would
   * need a key lookup are refused, unread. A key already in the cache is still served.
   */
  failureLimiter?: RateLimiter;
  unknownKeyCacheSize?: number;
  /** Told of each refused request, by why. */
  metrics?: Metrics;
  /** The clock, in milliseconds. */
  now?: () => number;
}

/**
 * Checks API keys against the key store, with a short cache of known and of unknown ids, applies
 * the per-key rate limit, and limits failed authentications per client address.
 */
export class KeyAuthenticator implements Authenticator {
  readonly enforced = true;
  readonly #keys: KeyStore;
  readonly #rateLimiter: RateLimiter | undefined;
  readonly #failureLimiter: RateLimiter | undefined;
  readonly #cache = new Map<string, { key: StoredKey; readMs: number }>();
  readonly #unknown = new Map<string, number>();
  readonly #unknownCacheSize: number;
  /** Lookups under way, shared by the requests that need the same id meanwhile. */
  readonly #lookups = new Map<string, Promise<StoredKey | undefined>>();
  readonly #lastRecorded = new Map<string, number>();
  readonly #onRecordError: (err: unknown) => void;
  readonly #now: () => number;
  readonly #metrics: Metrics;

  constructor(
    keys: KeyStore,
    rateLimiter: RateLimiter | undefined,
    onRecordError: (err: unknown) => void,
    options: KeyAuthenticatorOptions = {},
  ) {
    this.#keys = keys;
    this.#rateLimiter = rateLimiter;
    this.#onRecordError = onRecordError;
    this.#failureLimiter = options.failureLimiter;
    this.#unknownCacheSize = options.unknownKeyCacheSize ?? UNKNOWN_KEY_CACHE_SIZE;
    this.#now = options.now ?? Date.now;
    this.#metrics = options.metrics ?? NO_METRICS;
  }

  async authenticate(credentials: Credentials): Promise<Principal> {
    const address = credentials.clientAddress;
    try {
      return await this.#authenticate(credentials, address);
    } catch (err) {
      if (address !== undefined && err instanceof UnauthenticatedError) {
        this.#failureLimiter?.spend(address, this.#now());
      }
      throw err;
    }
  }

  async #authenticate(credentials: Credentials, address: string | undefined): Promise<Principal> {
    const presented = bearer(credentials.authorization) ?? credentials.apiKey?.trim();
    if (!presented) {
      // A key sent as `Authorization: <key>` or `Basic ...` is a mistake worth naming.
      const what = credentials.authorization ? "the Authorization header is not Bearer <key>" : "missing API key";
      throw this.#refused("missing_key", `${what}: send Authorization: Bearer <key> or X-Api-Key: <key>`);
    }
    const parsed = parseKey(presented);
    const key = parsed && (await this.#find(parsed.id, address));
    if (!parsed || !key || !secretMatches(parsed.secretPart, key.secretHash)) {
      throw this.#refused("invalid_key", "invalid API key");
    }
    if (key.revokedAt) throw this.#refused("revoked_key", `API key ${key.id} was revoked`);
    this.#rateLimiter?.take(key.id, this.#now());
    this.#recordUse(key.id);
    return { kind: "key", keyId: key.id, tenantId: key.tenantId, role: key.role, projects: key.projects };
  }

  async #find(id: string, address: string | undefined): Promise<StoredKey | undefined> {
    const now = this.#now();
    const cached = this.#cache.get(id);
    if (cached && now - cached.readMs < KEY_CACHE_MS) return cached.key;
    const unknownSince = this.#unknown.get(id);
    if (unknownSince !== undefined && now - unknownSince < KEY_CACHE_MS) return undefined;
    const pending = this.#lookups.get(id);
    if (pending) return pending;
    // The limit guards the database: only what would cost a lookup is refused.
    if (address !== undefined) {
      try {
        this.#failureLimiter?.check(address, now);
      } catch (err) {
        this.#metrics.authFailed("too_many_failures");
        throw err;
      }
    }
    const lookup = this.#keys.findKey(id).finally(() => this.#lookups.delete(id));
    this.#lookups.set(id, lookup);
    const key = await lookup;
    this.#cache.delete(id);
    this.#unknown.delete(id);
    if (key) {
      this.#cache.set(id, { key, readMs: now });
    } else {
      // Map order is insertion order: the first entry is the least recently seen.
      if (this.#unknown.size >= this.#unknownCacheSize)
        this.#unknown.delete(this.#unknown.keys().next().value as string);
      this.#unknown.set(id, now);
    }
    return key;
  }

  #refused(reason: AuthFailure, message: string): UnauthenticatedError {
    this.#metrics.authFailed(reason);
    return new UnauthenticatedError(message);
  }

  #recordUse(id: string): void {
    const now = this.#now();
    if (now - (this.#lastRecorded.get(id) ?? 0) < RECORD_USE_EVERY_MS) return;
    this.#lastRecorded.set(id, now);
    this.#keys.recordKeyUse(id, new Date(now)).catch(this.#onRecordError);
  }
}

function bearer(authorization: string | null | undefined): string | undefined {
  const match = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization) : null;
  return match?.[1];
}
