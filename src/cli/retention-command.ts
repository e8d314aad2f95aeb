import { userInfo } from "node:os";
import { parseArgs } from "node:util";
import {
  type ErasureRequest,
  MAX_RETENTION_DAYS,
  type PurgeDone,
  RETENTION_DAYS_RULE,
} from "../core/retention/retention.ts";
import type { RetentionPolicy } from "../store/retention-store.ts";
import type { AdminBackend } from "./admin-backend.ts";
import type { CheckedCommand, Print } from "./checked-command.ts";
import { CliError, requiredFlag, UsageError } from "./cli-errors.ts";
import { counted } from "./counted.ts";
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

/** `chaukas retention ...`, its flags checked: throws a usage error before any store is opened. */
export function retentionCommand(args: string[]): CheckedCommand<AdminBackend> {
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
    const policy = { tenantId, projectId: values.project ?? "", days: Number(days), setBy: values.by ?? shellUser() };
    return {
      readOnly: false,
      run: async (admin, out) => {
        printPolicies(tenantId, await admin.setRetentionPolicy(policy), out);
        return 0;
      },
    };
  }
  if (action === "show") {
    const tenantId = requiredFlag(values.tenant, "--tenant");
    return {
      readOnly: true,
      run: async (admin, out) => {
        printPolicies(tenantId, await admin.retentionPolicies(tenantId), out);
        return 0;
      },
    };
  }
  if (action === "run") return { readOnly: false, run: runRetention };
  throw new UsageError(`unknown retention command "${action ?? ""}"`);
}

/** `retention run`: one line per purge made, then the totals. */
async function runRetention(admin: AdminBackend, out: Print, err: Print): Promise<number> {
  const done = await admin.runRetention();
  if (!done) throw new CliError("another process is purging: it purges what is expired");
  for (const purge of done) out(`${purge.tenantId}\t${purge.projectId}\t${purge.count}\t${purge.recordId}`);
  err(`purged ${totals(done)}`);
  return 0;
}

/** `chaukas erase ...`, its flags checked: throws a usage error before any store is opened. */
export function eraseCommand(args: string[]): CheckedCommand<AdminBackend> {
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
  const erasure: ErasureRequest = {
    tenantId: requiredFlag(values.tenant, "--tenant"),
    request: requiredFlag(values.request, "--request"),
    selector: {
      sessionId: values.session,
      agentId: values.agent,
      eventIds: values.event,
      tag: values.tag,
      metadata: values.metadata === undefined ? undefined : metadataMatch(values.metadata),
    },
    by: values.by ?? shellUser(),
  };
  return { readOnly: false, run: (admin, out, err) => erase(admin, erasure, out, err) };
}

/** `erase`: purges the selected events; prints each purge made, then the totals. */
async function erase(admin: AdminBackend, erasure: ErasureRequest, out: Print, err: Print): Promise<number> {
  // Counts the events examined: a metadata selector examines more than it erases.
  const progress = new Progress("examined for erasure");
  const { purges } = await admin.eraseEvents(erasure, ({ examined }) => progress.update(examined));
  progress.done();
  for (const purge of purges) out(`${purge.projectId}\t${purge.count}\t${purge.recordId}`);
  err(`erased ${totals(purges)}`);
  return 0;
}

/** `3 events in 2 purges`: what the purges took, together. */
function totals(purges: readonly PurgeDone[]): string {
  const events = purges.reduce((sum, purge) => sum + purge.count, 0);
  return `${counted(events, "event")} in ${counted(purges.length, "purge")}`;
}

/** `--metadata KEY=VALUE`: the first `=` ends the key; the value may hold more. */
function metadataMatch(text: string): { key: string; value: string } {
  const at = text.indexOf("=");
  if (at <= 0 || at === text.length - 1) {
    throw new CliError("--metadata must be KEY=VALUE");
  }
  return { key: text.slice(0, at), value: text.slice(at + 1) };
}

function printPolicies(tenantId: string, policies: readonly RetentionPolicy[], out: Print): void {
  if (policies.length === 0) out(`tenant ${tenantId} keeps its events' content forever`);
  for (const policy of policies) {
    const scope = policy.projectId ? `project ${policy.projectId}` : "tenant";
    out(`${scope}\t${policy.days} days\tset by ${policy.setBy} at ${policy.setAt.toISOString()}`);
  }
}
