/** The roles a key can hold; core/access.ts says what each may do. */
export const ROLES = ["ingest", "read", "admin"] as const;
export type Role = (typeof ROLES)[number];

/** What a role must be, as refusals say it: "ingest, read or admin". */
export const ROLE_CHOICES = `${ROLES.slice(0, -1).join(", ")} or ${ROLES.at(-1)}`;

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

export interface StoredKey {
  id: string;
  tenantId: string;
  role: Role;
  /** Empty: every project of the tenant. */
  projects: string[];
  secretHash: Uint8Array;
  createdAt: Date;
  lastUsedAt?: Date;
  revokedAt?: Date;
}

export type NewStoredKey = Pick<StoredKey, "id" | "tenantId" | "role" | "projects" | "secretHash">;

/**
 * API keys. Not tenant-scoped: a key is read before the caller's tenant is known.
 * Promise: a key is found as created until it is revoked, and a revocation is seen by every
 * later findKey, in any process on the database.
 */
export interface KeyStore {
  createKey(key: NewStoredKey): Promise<void>;
  /** Creates the key only if no key exists at all (first start); concurrent callers create one. */
  createFirstKey(key: NewStoredKey): Promise<boolean>;
  findKey(id: string): Promise<StoredKey | undefined>;
  listKeys(tenantId?: string): Promise<StoredKey[]>;
  /** Revokes the key; false when there is no such key or it was already revoked. */
  revokeKey(id: string): Promise<boolean>;
  /** Records a use of the key at `at`; an earlier time than the one recorded changes nothing. */
  recordKeyUse(id: string, at: Date): Promise<void>;
}
