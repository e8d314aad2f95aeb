import { userInfo } from "node:os";
import { parseArgs } from "node:util";
import { UNRESTRICTED } from "../core/access.ts";
import { erase, purgeExpired, setRetention, showRetention } from "../core/retention/retention.ts";
import { InvalidArgumentError } from "../lib/errors.ts";
import type { Database } from "../store/database.ts";
import type { RetentionPolicy } from "../store/retention-store.ts";

export const RETENTION_USAGE = `  retention set --tenant T [--project P] --days N [--by NAME]
                        events older than N days lose their content (0: keep forever); a
                        project's period overrides its tenant's
  retention show --tenant T
                        the tenant's retention periods
  retention run         purge what is expired now, as the server's hourly job does
  erase --tenant T --request REF [--session S] [--agent A] [--event ID]... [--tag TAG] [--by NAME]
                        purge the content of the events these select (all conditions given);
                        REF, the request's reference, is recorded in the log; the selector's
                        values are not`;

/** Who runs a command from this machine's shell, as purge records and policies name them. */
const shellUser = () => `cli:${userInfo().username}`;

/** `chaukas retention ...`: returns the exit code; `out` gets results, `err` messages. */
export async function retentionCommand(
  args: string[],
  store: Database,
  out: (line: string) => void,
  err: (line: string) => void,
): Promise<number> {
  const [action, ...rest] = args;
  const { values } = parseArgs({
    args: rest,
    options: {
      tenant: { type: "string" },
      project: { type: "string" },
      days: { type: "string" },
      by: { type: "string" },
    },
  });
  if (action === "set") {
    const days = Number(values.days);
    if (values.days === undefined || !/^\d+$/.test(values.days)) {
      throw new InvalidArgumentError([{ field: "--days", description: "must be a whole number of days" }]);
    }
    const policies = await setRetention(store, UNRESTRICTED, {
      tenantId: values.tenant ?? "",
      projectId: values.project ?? "",
      days,
      setBy: values.by ?? shellUser(),
    });
    printPolicies(values.tenant ?? "", policies, out);
    return 0;
  }
  if (action === "show") {
    printPolicies(values.tenant ?? "", await showRetention(store, UNRESTRICTED, values.tenant ?? ""), out);
    return 0;
  }
  if (action === "run") {
    const done = await purgeExpired(store, new Date());
    if (!done) {
      err("another process is purging: it purges what is expired");
      return 1;
    }
    for (const purge of done) out(`${purge.tenantId}\t${purge.projectId}\t${purge.count}\t${purge.recordId}`);
    err(`purged ${done.reduce((sum, purge) => sum + purge.count, 0)} event(s) in ${done.length} purge(s)`);
    return 0;
  }
  err(`retention: unknown action "${action ?? ""}" (set, show or run)`);
  return 2;
}

/** `chaukas erase ...`: purges the selected events; prints each purge made. */
export async function eraseCommand(
  args: string[],
  store: Database,
  out: (line: string) => void,
  err: (line: string) => void,
): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      tenant: { type: "string" },
      request: { type: "string" },
      session: { type: "string" },
      agent: { type: "string" },
      event: { type: "string", multiple: true },
      tag: { type: "string" },
      by: { type: "string" },
    },
  });
  if (!values.request) throw new InvalidArgumentError([{ field: "--request", description: "is required" }]);
  const done = await erase(store, UNRESTRICTED, {
    tenantId: values.tenant ?? "",
    selector: { sessionId: values.session, agentId: values.agent, eventIds: values.event, tag: values.tag },
    request: values.request,
    by: values.by ?? shellUser(),
  });
  for (const purge of done) out(`${purge.projectId}\t${purge.count}\t${purge.recordId}`);
  err(`erased ${done.reduce((sum, purge) => sum + purge.count, 0)} event(s) in ${done.length} purge(s)`);
  return 0;
}

function printPolicies(tenantId: string, policies: readonly RetentionPolicy[], out: (line: string) => void): void {
  if (policies.length === 0) out(`tenant ${tenantId} keeps its events' content forever`);
  for (const policy of policies) {
    const scope = policy.projectId ? `project ${policy.projectId}` : "tenant";
    out(`${scope}\t${policy.days} days\tset by ${policy.setBy} at ${policy.setAt.toISOString()}`);
  }
}
