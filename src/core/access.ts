import type { Event } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import { PermissionDeniedError } from "../lib/errors.ts";
import type { Role } from "../store/key-store.ts";
import { ALL_TENANTS, type TenantScope } from "../store/tenant-scope.ts";
import { BOOTSTRAP_TENANT } from "./key-admin.ts";

/** Who is calling: an API key, or (with --insecure-no-auth, and for the local CLI) anyone. */
export type Principal =
  | { kind: "key"; keyId: string; tenantId: string; role: Role; projects: readonly string[] }
  | { kind: "unrestricted" };

export const UNRESTRICTED: Principal = { kind: "unrestricted" };

/** What a request does: write events, read them, or manage keys. */
export type Action = "ingest" | "read" | "admin";

const ACTIONS_OF_ROLE: Record<Role, readonly Action[]> = {
  ingest: ["ingest"],
  read: ["read"],
  admin: ["ingest", "read", "admin"],
};

export function authorize(principal: Principal, action: Action): void {
  if (principal.kind === "unrestricted") return;
  if (!ACTIONS_OF_ROLE[principal.role].includes(action)) {
    throw new PermissionDeniedError(`key ${principal.keyId} has role ${principal.role}, which may not ${action}`);
  }
}

/**
 * Puts an event in the principal's scope: an empty tenant_id takes the key's tenant, an empty
 * project_id the key's only project. Returns why the event is outside the scope, if it is.
 */
export function scopeEvent(principal: Principal, event: Pick<Event, "tenantId" | "projectId">): string | undefined {
  if (principal.kind === "unrestricted") return undefined;
  if (event.tenantId === "") event.tenantId = principal.tenantId;
  if (event.projectId === "" && principal.projects.length === 1) event.projectId = principal.projects[0];
  if (event.tenantId !== principal.tenantId) {
    return `tenant_id "${event.tenantId}" is outside the scope of key ${principal.keyId}`;
  }
  if (principal.projects.length > 0 && event.projectId !== "" && !principal.projects.includes(event.projectId)) {
    return `project_id "${event.projectId}" is outside the scope of key ${principal.keyId}`;
  }
  return undefined;
}

/**
 * The tenant and project a read runs on. An empty tenant takes the key's; an empty project the
 * key's only project. Anything else outside the key's scope is refused, never widened or narrowed.
 */
export function scopeRead(
  principal: Principal,
  tenantId: string,
  projectId: string,
): { tenantId: string; projectId: string } {
  const tenant = scopeTenant(principal, tenantId);
  if (principal.kind === "unrestricted") return { tenantId, projectId };
  const projects = principal.projects;
  if (projects.length === 0) return { tenantId: tenant, projectId };
  const project = projectId || (projects.length === 1 ? projects[0] : "");
  if (!projects.includes(project)) {
    throw new PermissionDeniedError(
      project
        ? `project_id "${project}" is outside the scope of key ${principal.keyId}`
        : `key ${principal.keyId} is limited to projects ${projects.join(", ")}: set project_id`,
    );
  }
  return { tenantId: tenant, projectId: project };
}

/**
 * The tenant a tenant-wide read runs on (its audit log): an empty tenant takes the key's. A key
 * limited to projects may read it too; the log holds hashes, and its size counts every project.
 */
export function scopeTenant(principal: Principal, tenantId: string): string {
  if (principal.kind === "unrestricted") return tenantId;
  const tenant = tenantId || principal.tenantId;
  if (tenant !== principal.tenantId) {
    throw new PermissionDeniedError(`tenant_id "${tenant}" is outside the scope of key ${principal.keyId}`);
  }
  return tenant;
}

/** The projects a key is limited to, or undefined for every project. */
export function projectLimit(principal: Principal): readonly string[] | undefined {
  return principal.kind === "key" && principal.projects.length > 0 ? principal.projects : undefined;
}

/** The rows the database lets this caller's statements touch (row-level security). */
export function tenantScope(principal: Principal): TenantScope {
  return principal.kind === "key" ? { tenantId: principal.tenantId } : ALL_TENANTS;
}

/**
 * Who administers `tenantId` (keys, export, import, verification; empty: the caller's tenants):
 * admin keys only. An admin key of BOOTSTRAP_TENANT (a fresh install's first key is one) is the
 * install's operator and acts for every tenant, as the local CLI does; any other admin key acts
 * for its own tenant only.
 */
export function administrator(principal: Principal, tenantId: string): Principal {
  authorize(principal, "admin");
  if (principal.kind === "unrestricted" || principal.tenantId === BOOTSTRAP_TENANT) return UNRESTRICTED;
  scopeTenant(principal, tenantId);
  return principal;
}
