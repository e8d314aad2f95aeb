import type { TenantScope } from "./tenant-scope.ts";

/** One version of a tenant's redaction rules, with who set it and when. */
export interface StoredRules {
  version: number;
  /** As checked by core/redaction/rules.ts, stored as JSON. */
  rules: unknown;
  changedBy: string;
  changedAt: Date;
}

/**
 * Redaction rules and HMAC secrets, per tenant. Promise: versions of a tenant's rules are
 * numbered 1, 2, ... with none ever changed or removed (every version is its history), and a
 * tenant's secret, once created, is the one every later call returns.
 */
export interface RedactionStore {
  /** The tenant's newest rules; undefined when none were ever set. */
  latestRules(scope: TenantScope, tenantId: string): Promise<StoredRules | undefined>;
  /** Every version, oldest first. */
  rulesHistory(scope: TenantScope, tenantId: string): Promise<StoredRules[]>;
  /** Stores `rules` as version `version`; false when that version exists already (a concurrent change). */
  addRules(scope: TenantScope, tenantId: string, rules: Omit<StoredRules, "changedAt">): Promise<boolean>;
  /** The tenant's HMAC secret and its id, created (from `create`) on first use. */
  hashKey(
    scope: TenantScope,
    tenantId: string,
    create: () => { saltId: string; secret: Uint8Array },
  ): Promise<{ saltId: string; secret: Uint8Array }>;
}
