import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { UNRESTRICTED } from "../core/access.ts";
import { Redactions } from "../core/redaction/redactions.ts";
import type { RedactionRules } from "../core/redaction/rules.ts";
import type { RedactionStore } from "../store/redaction-store.ts";
import { CliError, UsageError } from "./cli-errors.ts";
import { checkReadable } from "./named-files.ts";

export const REDACTION_USAGE = `  redaction show --tenant T
                        the tenant's redaction rules in force, with their version, as JSON
  redaction set FILE --tenant T [--expected-version N]
                        make the rules in FILE (JSON, as show prints them or only their "rules")
                        the tenant's next version (docs/redaction.md)`;

/** `chaukas redaction ...`: returns the exit code; `out` gets results, `err` messages. */
export async function redactionCommand(
  args: string[],
  store: RedactionStore,
  out: (line: string) => void,
  err: (line: string) => void,
): Promise<number> {
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
  const redactions = new Redactions(store);
  if (action === "show") {
    const current = await redactions.getRules(UNRESTRICTED, tenant);
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
  checkReadable(file);
  const parsed = jsonOf(file, await readFile(file, "utf8")) as { rules?: RedactionRules } & RedactionRules;
  const expected = values["expected-version"];
  const version = await redactions.setRules(
    UNRESTRICTED,
    tenant,
    parsed.rules ?? parsed,
    expected === undefined ? undefined : Number(expected),
  );
  err(`tenant ${tenant}: redaction rules are now version ${version}`);
  return 0;
}

function jsonOf(file: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CliError(`${file} is not JSON: ${(err as Error).message}`);
  }
}
