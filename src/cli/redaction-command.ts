import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { fromJson, type JsonValue } from "@bufbuild/protobuf";
import { RedactionRulesSchema } from "../../gen/chaukas/backend/v1/redaction_pb.ts";
import { UNRESTRICTED } from "../core/access.ts";
import { Redactions } from "../core/redaction/redactions.ts";
import type { RedactionRules } from "../core/redaction/rules.ts";
import type { RedactionStore } from "../store/redaction-store.ts";
import type { CheckedCommand, Print } from "./checked-command.ts";
import { CliError, UsageError } from "./cli-errors.ts";
import { checkReadable } from "./named-files.ts";

export const REDACTION_USAGE = `  redaction show --tenant T
                        the tenant's redaction rules in force, with their version, as JSON
  redaction set FILE --tenant T [--expected-version N]
                        make the rules in FILE (JSON, as show prints them or only their "rules")
                        the tenant's next version (docs/redaction.md)`;

/**
 * `chaukas redaction ...`, its flags and rules file checked: throws a usage error, or a file's
 * problem, before any store is opened.
 */
export function redactionCommand(args: string[]): CheckedCommand<RedactionStore> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { tenant: { type: "string" }, "expected-version": { type: "string" } },
  });
  const [action, file, ...extra] = positionals;
  const tenant = values.tenant ?? "";
  if (tenant === "" || extra.length > 0 || !((action === "show" && !file) || (action === "set" && file))) {
    throw new UsageError("redaction takes show --tenant T, or set FILE --tenant T [--expected-version N]");
  }
  if (action === "show") return { readOnly: true, run: (store, out) => showRules(store, tenant, out) };
  checkReadable(file);
  const rules = rulesOfFile(file, readFileSync(file, "utf8"), tenant);
  const expected = values["expected-version"];
  if (expected !== undefined && !/^\d+$/.test(expected))
    throw new CliError("--expected-version must be a version number");
  return {
    readOnly: false,
    run: async (store, _out, err) => {
      const version = await new Redactions(store).setRules(
        UNRESTRICTED,
        tenant,
        rules,
        expected === undefined ? undefined : Number(expected),
      );
      err(`tenant ${tenant}: redaction rules are now version ${version}`);
      return 0;
    },
  };
}

/** `redaction show`: the tenant's rules in force, as JSON that `redaction set` reads back. */
async function showRules(store: RedactionStore, tenant: string, out: Print): Promise<number> {
  const current = await new Redactions(store).getRules(UNRESTRICTED, tenant);
  out(
    JSON.stringify(
      {
        tenant_id: current.tenantId,
        version: current.version,
        changed_by: current.changedBy,
        changed_at: current.changedAt?.toISOString() ?? null,
        rules: current.rules,
      },
      null,
      2,
    ),
  );
  return 0;
}

/** What `redaction show` prints beside the rules. */
const SHOWN_KEYS = ["tenant_id", "version", "changed_by", "changed_at", "rules"];

/**
 * The rules in a file, as `redaction show` prints them or alone, decoded as SetRules decodes them:
 * a key that is not a rule's (a typo such as "detector") is refused, never read as no rules.
 */
function rulesOfFile(file: string, text: string, tenant: string): RedactionRules {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CliError(`${file} is not JSON: ${(err as Error).message}`);
  }
  const shown =
    typeof json === "object" && json !== null && "rules" in json ? (json as Record<string, unknown>) : undefined;
  if (shown) {
    const unknown = Object.keys(shown).find((key) => !SHOWN_KEYS.includes(key));
    if (unknown) throw new CliError(`${file}: key "${unknown}" is unknown (${SHOWN_KEYS.join(", ")})`);
    if (shown.tenant_id !== undefined && shown.tenant_id !== tenant) {
      throw new CliError(`${file} holds the rules of tenant ${String(shown.tenant_id)}, not of --tenant ${tenant}`);
    }
  }
  try {
    return fromJson(RedactionRulesSchema, (shown ? shown.rules : json) as JsonValue);
  } catch (err) {
    throw new CliError(`${file}: ${(err as Error).message}`);
  }
}
