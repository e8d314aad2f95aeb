import type pg from "pg";
import type { SigningKey, SigningKeyStore } from "../signing-keys.ts";
import { runQuery, withClient } from "./pool.ts";

const SELECT_KEYS =
  "SELECT verifier_key, valid_from, valid_until FROM audit_signing_keys ORDER BY valid_from, verifier_key";

/** The SigningKeyStore in SQL: server-wide, as the shared secrets are. */
export class SqlSigningKeyStore implements SigningKeyStore {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async signingKeys(): Promise<SigningKey[]> {
    const { rows } = await runQuery<KeyRow>(this.#pool, SELECT_KEYS);
    return rows.map(toKey);
  }

  async enrolSigningKey(verifierKey: string): Promise<SigningKey[]> {
    // Of two first starts at once, the unique index lets one key in; the other then sees it.
    await runQuery(
      this.#pool,
      `INSERT INTO audit_signing_keys (verifier_key) SELECT $1
       WHERE NOT EXISTS (SELECT 1 FROM audit_signing_keys) ON CONFLICT DO NOTHING`,
      [verifierKey],
    );
    return this.signingKeys();
  }

  async rotateSigningKey(current: string, next: string): Promise<boolean> {
    return withClient(this.#pool, async (client) => {
      await client.query("BEGIN");
      try {
        const { rowCount } = await client.query(
          "UPDATE audit_signing_keys SET valid_until = now() WHERE verifier_key = $1 AND valid_until IS NULL",
          [current],
        );
        if (rowCount !== 1) {
          await client.query("ROLLBACK");
          return false;
        }
        await client.query("INSERT INTO audit_signing_keys (verifier_key) VALUES ($1)", [next]);
        await client.query("COMMIT");
        return true;
      } catch (err) {
        await client.query("ROLLBACK").catch(() => {});
        throw err;
      }
    });
  }
}

interface KeyRow {
  verifier_key: string;
  valid_from: Date;
  valid_until: Date | null;
}

const toKey = (row: KeyRow): SigningKey => ({
  verifierKey: row.verifier_key,
  validFrom: new Date(row.valid_from),
  validUntil: row.valid_until ? new Date(row.valid_until) : undefined,
});
