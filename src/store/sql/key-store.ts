import type pg from "pg";
import type { KeyStore, NewStoredKey, Role, StoredKey } from "../key-store.ts";
import { ADVISORY_LOCK } from "./advisory-locks.ts";
import { runQuery, withClient } from "./pool.ts";

interface KeyRow {
  id: string;
  tenant_id: string;
  role: Role;
  projects: string[];
  secret_hash: Buffer;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

/** The KeyStore in SQL, over the same pool as the events. */
export class SqlKeyStore implements KeyStore {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async createKey(key: NewStoredKey): Promise<void> {
    await runQuery(
      this.#pool,
      "INSERT INTO api_keys (id, tenant_id, role, projects, secret_hash) VALUES ($1, $2, $3, $4, $5)",
      [key.id, key.tenantId, key.role, key.projects, Buffer.from(key.secretHash)],
    );
  }

  async createFirstKey(key: NewStoredKey): Promise<boolean> {
    // The advisory lock makes concurrent first starts on one database create one key, not one each.
    return withClient(this.#pool, async (client) => {
      try {
        await client.query(`BEGIN; SELECT pg_advisory_xact_lock(${ADVISORY_LOCK.firstKey})`);
        const { rowCount } = await client.query(
          `INSERT INTO api_keys (id, tenant_id, role, projects, secret_hash)
           SELECT $1, $2, $3, $4, $5 WHERE NOT EXISTS (SELECT 1 FROM api_keys)`,
          [key.id, key.tenantId, key.role, key.projects, Buffer.from(key.secretHash)],
        );
        await client.query("COMMIT");
        return rowCount === 1;
      } catch (err) {
        await client.query("ROLLBACK").catch(() => {});
        throw err;
      }
    });
  }

  async findKey(id: string): Promise<StoredKey | undefined> {
    const { rows } = await runQuery<KeyRow>(this.#pool, "SELECT * FROM api_keys WHERE id = $1", [id]);
    return rows[0] && toStoredKey(rows[0]);
  }

  async listKeys(tenantId?: string): Promise<StoredKey[]> {
    const { rows } = await runQuery<KeyRow>(
      this.#pool,
      "SELECT * FROM api_keys WHERE $1::text IS NULL OR tenant_id = $1 ORDER BY tenant_id, created_at, id",
      [tenantId ?? null],
    );
    return rows.map(toStoredKey);
  }

  async revokeKey(id: string): Promise<boolean> {
    const { rowCount } = await runQuery(
      this.#pool,
      "UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL",
      [id],
    );
    return rowCount === 1;
  }

  async recordKeyUse(id: string, at: Date): Promise<void> {
    // Processes record uses on their own: a write that lands late never moves the time back.
    await runQuery(this.#pool, "UPDATE api_keys SET last_used_at = greatest(last_used_at, $2) WHERE id = $1", [id, at]);
  }
}

function toStoredKey(row: KeyRow): StoredKey {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    role: row.role,
    projects: row.projects,
    secretHash: row.secret_hash,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at ?? undefined,
    revokedAt: row.revoked_at ?? undefined,
  };
}
