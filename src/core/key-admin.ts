import { InvalidArgumentError } from "../lib/errors.ts";
import type { KeyStore, StoredKey } from "../store/key-store.ts";
import { isRole, ROLE_CHOICES, type Role } from "../store/key-store.ts";
import { generateKey } from "./api-keys.ts";

export interface KeySpec {
  tenantId: string;
  role: string;
  projects: string[];
}

/** Creates a key and returns it with its secret, which exists nowhere else afterwards. */
export async function createApiKey(keys: KeyStore, spec: KeySpec): Promise<{ key: StoredKey; secret: string }> {
  const role = checkedRole(spec);
  const { id, secret, secretHash } = generateKey();
  const key = { id, tenantId: spec.tenantId, role, projects: spec.projects, secretHash };
  await keys.createKey(key);
  return { key: { ...key, createdAt: new Date() }, secret };
}

/** The tenant a fresh install's first admin key belongs to. */
export const BOOTSTRAP_TENANT = "default";

/**
 * On a database with no key at all, creates one admin key for tenant `default` and returns its
 * secret; otherwise returns undefined. Safe when several processes start at once.
 */
export async function bootstrapAdminKey(keys: KeyStore): Promise<{ id: string; secret: string } | undefined> {
  const { id, secret, secretHash } = generateKey();
  const created = await keys.createFirstKey({
    id,
    tenantId: BOOTSTRAP_TENANT,
    role: "admin",
    projects: [],
    secretHash,
  });
  return created ? { id, secret } : undefined;
}

function checkedRole(spec: KeySpec): Role {
  const violations = [];
  if (!spec.tenantId) violations.push({ field: "tenant", description: "is required" });
  if (!isRole(spec.role)) violations.push({ field: "role", description: `must be ${ROLE_CHOICES}` });
  if (spec.projects.some((p) => p === "")) violations.push({ field: "project", description: "must not be empty" });
  if (violations.length > 0 || !isRole(spec.role)) throw new InvalidArgumentError(violations);
  return spec.role;
}
