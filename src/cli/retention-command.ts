import { userInfo } from "node:os";
import { parseArgs } from "node:util";
import { MAX_RETENTION_DAYS, RETENTION_DAYS_RULE } from "../core/retention/retention.ts";
import type { RetentionPolicy } from "../store/retention-store.ts";
import type { AdminBackend } from "./admin-backend.ts";
import { CliError, requiredFlag, UsageError } from "./cli-errors.ts";
import { Progress } from "./progress.ts";

export const RETENTION_USAGE = `  retention set --tenant T [--project P] --days N [--by NAME]
                        events older than N days lose their content (0: keep forever); a
                        project's period overrides its tenant's
  retention show --tenant T
                        the tenant's retention periods
  retention run         purge what is expired now, as the server's hourly job does
  erase --tenant T --request REF [--session S] [--agent A] [--event ID]... [--tag TAG]
        [--metadata KEY=VALUE] [--by NAME]
                        purge the content of the events these select (all conditions given;
                        KEY=VALUE: the metadata key KEY holds the string VALUE); REF, the
                        request's reference, is recorded in the log; the selector's values are
                        not`;

/** Who runs a command from this machine's shell, as purge records and policies name them. */
const shellUser = () => `cli:${userInfo().username}`;

/** `chaukas retention ...`: returns the exit code; `out` gets results, `err` messages. */
export async function retentionCommand(
  args: string[],
  admin: AdminBackend,
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
    const tenantId = requiredFlag(values.tenant, "--tenant");
    const days = requiredFlag(values.days, "--days");
    if (!/^\d+$/.test(days) || Number(days) > MAX_RETENTION_DAYS) {
      throw new CliError(`--days ${RETENTION_DAYS_RULE}`);
    }
    const policies = await admin.setRetentionPolicy({
      tenantId,
      projectId: values.project ?? "",
      days: Number(days),
      setBy: values.by ?? shellUser(),
    });
    printPolicies(tenantId, policies, out);
    return 0;
  }
  if (action === "show") {
    const tenantId = requiredFlag(values.tenant, "--tenant");
    printPolicies(tenantId, await admin.retentionPolicies(tenantId), out);
    return 0;
  }
  if (action === "run") {
    const done = await admin.runRetention();
    if (!done) throw new CliError("another process is purging: it purges what is expired");
    for (const purge of done) out(`${purge.tenantId}\t${purge.projectId}\t${purge.count}\t${purge.recordId}`);
    err(`purged ${done.reduce((sum, purge) => sum + purge.count, 0)} event(s) in ${done.length} purge(s)`);
    return 0;
  }
  throw new UsageError(`unknown retention command "${action ?? ""}"`);
}

/** `chaukas erase ...`: purges the selected events; prints each purge made. */
export async function eraseCommand(
  args: string[],
  admin: AdminBackend,
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
      metadata: { type: "string" },
      by: { type: "string" },
    },
  });
  const tenantId = requiredFlag(values.tenant, "--tenant");
  const request = requiredFlag(values.request, "--request");
  // Counts the events examined: a metadata selector examines more than it erases.
  const progress = new Progress("examined for erasure");
  const { purges } = await admin.eraseEvents(
    {
      tenantId,
      selector: {
        sessionId: values.session,
        agentId: values.agent,
        eventIds: values.event,
        tag: values.tag,
        metadata: values.metadata === undefined ? undefined : metadataMatch(values.metadata),
      },
      request,
      by: values.by ?? shellUser(),
    },
    ({ examined }) => progress.update(examined),
  );
  progress.done();
  for (const purge of purges) out(`${purge.projectId}\t${purge.count}\t${purge.recordId}`);
  err(`erased ${purges.reduce((sum, purge) => sum + purge.count, 0)} event(s) in ${purges.length} purge(s)`);
  return 0;
}

/** `--metadata KEY=VALUE`: the first `=` ends the key; the value may hold more. */
function metadataMatch(text: string): { key: string; value: string } {
  const at = text.indexOf("=");
  if (at <= 0 || at === text.length - 1) {
    throw new CliError("--metadata must be KEY=VALUE");
  }
  return { key: text.slice(0, at), value: text.slice(at + 1) };
}

function printPolicies(tenantId: string, policies: readonly RetentionPolicy[], out: (line: string) => void): void {
  if (policies.length === 0) out(`tenant ${tenantId} keeps its events' content forever`);
  for (const policy of policies) {
    const scope = policy.projectId ? `project ${policy.projectId}` : "tenant";
    out(`${scope}\t${policy.days} days\tset by ${policy.setBy} at ${policy.setAt.toISOString()}`);
  }
}
