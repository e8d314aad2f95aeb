import type { KeyStore, StoredKey } from "../store/key-store.ts";
import { type Principal, UNRESTRICTED } from "./access.ts";
import { parseKey, secretMatches } from "./api-keys.ts";
import { UnauthenticatedError } from "./errors.ts";
import type { RateLimiter } from "./rate-limiter.ts";

/** The credentials a request carries: `Authorization: Bearer <key>` or `X-Api-Key: <key>`. */
export interface Credentials {
  authorization?: string | null;
  apiKey?: string | null;
}

export interface Authenticator {
  /** Whether keys are checked at all (false with --insecure-no-auth). */
  readonly enforced: boolean;
  authenticate(credentials: Credentials): Promise<Principal>;
}

/** For --insecure-no-auth: everyone may do everything. */
export const NO_AUTH: Authenticator = { enforced: false, authenticate: async () => UNRESTRICTED };

/** How long a key read from the database is trusted: revocation reaches every process within this. */
export const KEY_CACHE_MS = 1000;
/** last_used_at is written at most this often per key and process. */
const RECORD_USE_EVERY_MS = 60_000;

/** Checks API keys against the key store, with a short cache, and applies the per-key rate limit. */
export class KeyAuthenticator implements Authenticator {
  readonly enforced = true;
  readonly #keys: KeyStore;
  readonly #rateLimiter: RateLimiter | undefined;
  readonly #cache = new Map<string, { key: StoredKey; readMs: number }>();
  readonly #lastRecorded = new Map<string, number>();
  readonly #onRecordError: (err: unknown) => void;

  constructor(keys: KeyStore, rateLimiter: RateLimiter | undefined, onRecordError: (err: unknown) => void) {
    this.#keys = keys;
    this.#rateLimiter = rateLimiter;
    this.#onRecordError = onRecordError;
  }

  async authenticate(credentials: Credentials): Promise<Principal> {
    const presented = bearer(credentials.authorization) ?? credentials.apiKey?.trim();
    if (!presented) {
      throw new UnauthenticatedError("missing API key: send Authorization: Bearer <key> or X-Api-Key: <key>");
    }
    const parsed = parseKey(presented);
    const key = parsed && (await this.#find(parsed.id));
    if (!parsed || !key || !secretMatches(parsed.secretPart, key.secretHash)) {
      throw new UnauthenticatedError("invalid API key");
    }
    if (key.revokedAt) throw new UnauthenticatedError(`API key ${key.id} was revoked`);
    this.#rateLimiter?.take(key.id);
    this.#recordUse(key.id);
    return { kind: "key", keyId: key.id, tenantId: key.tenantId, role: key.role, projects: key.projects };
  }

  async #find(id: string): Promise<StoredKey | undefined> {
    const now = Date.now();
    const cached = this.#cache.get(id);
    if (cached && now - cached.readMs < KEY_CACHE_MS) return cached.key;
    const key = await this.#keys.findKey(id);
    // Only existing keys are cached, so made-up ids cannot fill memory.
    if (key) this.#cache.set(id, { key, readMs: now });
    else this.#cache.delete(id);
    return key;
  }

  #recordUse(id: string): void {
    const now = Date.now();
    if (now - (this.#lastRecorded.get(id) ?? 0) < RECORD_USE_EVERY_MS) return;
    this.#lastRecorded.set(id, now);
    this.#keys.recordKeyUse(id, new Date(now)).catch(this.#onRecordError);
  }
}

function bearer(authorization: string | null | undefined): string | undefined {
  const match = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization) : null;
  return match?.[1];
}
