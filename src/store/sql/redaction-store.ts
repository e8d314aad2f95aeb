import type pg from "pg";
import type { RedactionStore, StoredRules } from "../redaction-store.ts";
import type { TenantScope } from "../tenant-scope.ts";
import { queryInTenantScope } from "./pool.ts";

interface RulesRow {
  version: number;
  rules: unknown;
  changed_by: string;
  changed_at: Date;
}

/** The RedactionStore in SQL, over the same pool as the events, in the tenant's scope. */
export class SqlRedactionStore implements RedactionStore {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async latestRules(scope: TenantScope, tenantId: string): Promise<StoredRules | undefined> {
    const { rows } = await queryInTenantScope<RulesRow>(
      this.#pool,
      scope,
      "SELECT version, rules, changed_by, changed_at FROM redaction_rules WHERE tenant_id = $1 ORDER BY version DESC LIMIT 1",
      [tenantId],
    );
    return rows[0] && toStoredRules(rows[0]);
  }

  async rulesHistory(scope: TenantScope, tenantId: string): Promise<StoredRules[]> {
    const { rows } = await queryInTenantScope<RulesRow>(
      this.#pool,
      scope,
      "SELECT version, rules, changed_by, changed_at FROM redaction_rules WHERE tenant_id = $1 ORDER BY version",
      [tenantId],
    );
    return rows.map(toStoredRules);
  }

  async addRules(scope: TenantScope, tenantId: string, rules: Omit<StoredRules, "changedAt">): Promise<boolean> {
    const { rowCount } = await queryInTenantScope(
      this.#pool,
      scope,
      `INSERT INTO redaction_rules (tenant_id, version, rules, changed_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id, version) DO NOTHING`,
      [tenantId, rules.version, JSON.stringify(rules.rules), rules.changedBy],
    );
    return rowCount === 1;
  }

  async hashKey(
    scope: TenantScope,
    tenantId: string,
    create: () => { saltId: string; secret: Uint8Array },
  ): Promise<{ saltId: string; secret: Uint8Array }> {
    const created = create();
    // Insert-if-absent and read in one statement, so concurrent first uses agree on one secret.
    const { rows } = await queryInTenantScope<{ salt_id: string; secret: Uint8Array }>(
      this.#pool,
      scope,
      `WITH created AS (
           INSERT INTO redaction_secrets (tenant_id, salt_id, secret) VALUES ($1, $2, $3)
           ON CONFLICT (tenant_id) DO NOTHING RETURNING salt_id, secret)
         SELECT salt_id, secret FROM created UNION ALL SELECT salt_id, secret FROM redaction_secrets WHERE tenant_id = $1`,
      [tenantId, created.saltId, Buffer.from(created.secret)],
    );
    return { saltId: rows[0].salt_id, secret: rows[0].secret };
  }
}

function toStoredRules(row: RulesRow): StoredRules {
  return { version: row.version, rules: row.rules, changedBy: row.changed_by, changedAt: row.changed_at };
}
