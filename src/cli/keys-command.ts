import { parseArgs } from "node:util";
import { isRole, ROLE_CHOICES } from "../store/key-store.ts";
import type { AdminBackend, ListedKey } from "./admin-backend.ts";
import type { CheckedCommand, Print } from "./checked-command.ts";
import { CliError, requiredFlag, UsageError } from "./cli-errors.ts";

export const KEYS_USAGE = `  keys create --tenant T --role ingest|read|admin [--project P]...
                        create an API key; its secret is printed once, alone on the last line
  keys list [--tenant T]
                        id, tenant, role, projects, created, last used, revoked (never secrets)
  keys revoke ID        revoke a key: every server process refuses it within a second
  keys rotate-signing [--audit-key-file FILE] [--audit-log-name NAME]
                        replace the checkpoint signing key (in FILE, as the server reads it): the
                        new key signs from the next checkpoint, the old one stays listed for those
                        it signed; restart every server afterwards`;

/** `chaukas keys ...`, its flags checked: throws a usage error before any store is opened. */
export function keysCommand(args: string[]): CheckedCommand<AdminBackend> {
  const [action, ...rest] = args;
  if (action === "create") {
    const { values } = parseArgs({
      args: rest,
      options: { tenant: { type: "string" }, role: { type: "string" }, project: { type: "string", multiple: true } },
    });
    // Checked here to name the flags as typed: the key's own checks name its fields, for API callers.
    const tenantId = requiredFlag(values.tenant, "--tenant");
    const role = requiredFlag(values.role, "--role");
    if (!isRole(role)) throw new CliError(`--role must be ${ROLE_CHOICES}`);
    const projects = values.project ?? [];
    if (projects.includes("")) throw new CliError("--project must not be empty");
    return {
      readOnly: false,
      run: async (admin, out, err) => {
        const { key, secret } = await admin.createKey({ tenantId, role, projects });
        err(
          `created key ${key.id}: ${describe(key)}. Its secret follows; it is not stored and will not be shown again.`,
        );
        out(secret);
        return 0;
      },
    };
  }
  if (action === "list") {
    const { values } = parseArgs({ args: rest, options: { tenant: { type: "string" } } });
    return { readOnly: true, run: (admin, out) => listKeys(admin, values.tenant, out) };
  }
  if (action === "revoke") {
    const { positionals } = parseArgs({ args: rest, allowPositionals: true, options: {} });
    if (positionals.length !== 1) throw new UsageError("keys revoke takes one key id");
    const [id] = positionals;
    return {
      readOnly: false,
      run: async (admin, _out, err) => {
        if (!(await admin.revokeKey(id))) throw new CliError(`no active key ${id}`);
        err(`revoked key ${id}`);
        return 0;
      },
    };
  }
  throw new UsageError(`unknown keys command "${action ?? ""}"`);
}

/** `keys list`: one tab-separated row per key, under a header. */
async function listKeys(admin: AdminBackend, tenantId: string | undefined, out: Print): Promise<number> {
  const list = await admin.listKeys(tenantId);
  out(["id", "tenant", "role", "projects", "created", "last used", "revoked"].join("\t"));
  for (const key of list) {
    out(
      [
        key.id,
        key.tenantId,
        key.role,
        key.projects.join(",") || "*",
        key.createdAt.toISOString(),
        key.lastUsedAt?.toISOString() ?? "never",
        key.revokedAt?.toISOString() ?? "",
      ].join("\t"),
    );
  }
  return 0;
}

function describe(key: ListedKey): string {
  const projects = key.projects.length > 0 ? `projects ${key.projects.join(", ")}` : "all projects";
  return `role ${key.role} of tenant ${key.tenantId}, ${projects}`;
}
