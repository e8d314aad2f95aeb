import { randomBytes } from "node:crypto";
import { FailedPreconditionError, InvalidArgumentError } from "../../lib/errors.ts";
import type { RedactionStore } from "../../store/redaction-store.ts";
import { authorize, type Principal, scopeTenant } from "../access.ts";
import { compileRedaction, type HashKey, type Redaction, rulePathProblem } from "./redactor.ts";
import { checkedRules, DEFAULT_RULES, effectiveRules, type RedactionRules, usesHash } from "./rules.ts";

/** How long a server uses the rules it read before reading them again: how soon another process's change applies. */
export const RULES_REFRESH_MS = 5_000;
/** Tenants whose rules are kept at once; beyond them the cache starts over. */
const MAX_CACHED_TENANTS = 10_000;

/** A tenant's rules in force, as GetRules answers them. */
export interface TenantRules {
  tenantId: string;
  /** 0: never set (the defaults). */
  version: number;
  rules: RedactionRules;
  changedBy: string;
  changedAt?: Date;
}

interface CachedTenant {
  loadedAt: number;
  loaded: Promise<{ rules: RedactionRules; hashKey?: HashKey; byProject: Map<string, Redaction> }>;
}

/**
 * Redaction rules per tenant: read (and kept for RULES_REFRESH_MS) for ingest, shown and changed by
 * admins. Each change is a new version, kept with who made it.
 */
export class Redactions {
  readonly #store: RedactionStore;
  readonly #cache = new Map<string, CachedTenant>();

  constructor(store: RedactionStore) {
    this.#store = store;
  }

  /**
   * The redaction of each project of these tenants, once their rules are read. Fails (and ingest
   * with it: fail closed) when they cannot be read.
   */
  async forTenants(tenantIds: Iterable<string>): Promise<(tenantId: string, projectId: string) => Redaction> {
    const tenants = new Map<string, Awaited<CachedTenant["loaded"]>>();
    for (const tenantId of new Set(tenantIds)) tenants.set(tenantId, await this.#tenant(tenantId));
    return (tenantId, projectId) => {
      const tenant = tenants.get(tenantId);
      if (tenant === undefined) throw new Error(`the rules of tenant ${tenantId} were not read`);
      let redaction = tenant.byProject.get(projectId);
      if (redaction === undefined) {
        redaction = compileRedaction(effectiveRules(tenant.rules, projectId), tenant.hashKey);
        tenant.byProject.set(projectId, redaction);
      }
      return redaction;
    };
  }

  async getRules(principal: Principal, tenantId: string): Promise<TenantRules> {
    authorize(principal, "admin");
    const tenant = requiredTenant(scopeTenant(principal, tenantId));
    const stored = await this.#store.latestRules({ tenantId: tenant }, tenant);
    if (stored === undefined) return { tenantId: tenant, version: 0, rules: DEFAULT_RULES, changedBy: "" };
    return { tenantId: tenant, ...stored, rules: checkedRules(stored.rules as RedactionRules) };
  }

  /**
   * Makes `rules` the tenant's, as the version after `expectedVersion` (when given, refused if the
   * rules changed since) or after the newest. Returns the new version.
   */
  async setRules(
    principal: Principal,
    tenantId: string,
    rules: Partial<RedactionRules>,
    expectedVersion?: number,
  ): Promise<number> {
    authorize(principal, "admin");
    const tenant = requiredTenant(scopeTenant(principal, tenantId));
    const checked = checkedRules(rules);
    // New rules only: stored ones were checked by the rules of their day, and must keep loading.
    checkRulePaths(rules);
    const scope = { tenantId: tenant };
    const latest = (await this.#store.latestRules(scope, tenant))?.version ?? 0;
    if (expectedVersion !== undefined && expectedVersion !== latest) {
      throw new FailedPreconditionError(
        `the rules of tenant ${tenant} are at version ${latest}, not ${expectedVersion}`,
      );
    }
    const changedBy = principal.kind === "key" ? `key ${principal.keyId}` : "local administrator";
    if (!(await this.#store.addRules(scope, tenant, { version: latest + 1, rules: checked, changedBy }))) {
      throw new FailedPreconditionError(`the rules of tenant ${tenant} changed meanwhile; read them and try again`);
    }
    this.#cache.delete(tenant);
    return latest + 1;
  }

  #tenant(tenantId: string): CachedTenant["loaded"] {
    const cached = this.#cache.get(tenantId);
    if (cached && performance.now() - cached.loadedAt < RULES_REFRESH_MS) return cached.loaded;
    if (this.#cache.size >= MAX_CACHED_TENANTS) this.#cache.clear();
    const loaded = this.#load(tenantId);
    this.#cache.set(tenantId, { loadedAt: performance.now(), loaded });
    // A failed read is not kept: the next event tries again.
    loaded.catch(() => {
      if (this.#cache.get(tenantId)?.loaded === loaded) this.#cache.delete(tenantId);
    });
    return loaded;
  }

  async #load(tenantId: string): Promise<Awaited<CachedTenant["loaded"]>> {
    const scope = { tenantId };
    const stored = await this.#store.latestRules(scope, tenantId);
    const rules = stored === undefined ? DEFAULT_RULES : checkedRules(stored.rules as RedactionRules);
    const hashKey = usesHash(rules) ? await this.#store.hashKey(scope, tenantId, newHashKey) : undefined;
    return { rules, hashKey, byProject: new Map() };
  }
}

function newHashKey(): HashKey {
  return { saltId: `hmac-sha256:${randomBytes(6).toString("hex")}`, secret: randomBytes(32) };
}

function requiredTenant(tenantId: string): string {
  if (tenantId === "") throw new InvalidArgumentError([{ field: "tenant_id", description: "is required" }]);
  return tenantId;
}

/** Refuses rules with a field path that would redact nothing (rulePathProblem), naming each. */
function checkRulePaths(rules: Partial<RedactionRules>): void {
  const levels: [string, Partial<RedactionRules> | undefined][] = [
    ["", rules],
    ...Object.entries(rules.projects ?? {}).map(([project, level]): [string, Partial<RedactionRules>] => [
      `projects.${project}.`,
      level,
    ]),
  ];
  const violations = levels.flatMap(([at, level]) =>
    (level?.fields ?? []).flatMap((field, i) => {
      const problem = rulePathProblem(field.path ?? "");
      return problem ? [{ field: `${at}fields[${i}].path`, description: problem }] : [];
    }),
  );
  if (violations.length > 0) throw new InvalidArgumentError(violations);
}
