/**
 * The rows a statement may touch, enforced by the database (row-level security) beneath the
 * filters: one tenant's, or every tenant's for work that is not tenant-scoped by design (the
 * local CLI, a server run with --insecure-no-auth).
 * Promise: a statement run in a tenant's scope reads and writes that tenant's rows only.
 */
export type TenantScope = { tenantId: string } | { allTenants: true };
export const ALL_TENANTS: TenantScope = { allTenants: true };
