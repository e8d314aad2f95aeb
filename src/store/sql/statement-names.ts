/**
 * Names for the statements that keep one plan per connection (rowsInTenantScope's `keptPlan`). A
 * named statement is parsed once per connection, and after five runs PostgreSQL may keep a generic
 * plan for it rather than plan each call (docs/adr/0039-kept-plans-for-sessions-and-traces.md).
 * Only the first MOST_NAMED texts get a name, so no connection holds more of these than that;
 * later texts run unnamed, planned on each call.
 */
const MOST_NAMED = 64;
const names = new Map<string, string>();

/** The name of `text`'s prepared statement, or undefined once MOST_NAMED texts have one. */
export function keptPlanName(text: string): string | undefined {
  let name = names.get(text);
  if (name === undefined && names.size < MOST_NAMED) {
    name = `kept-plan-${names.size + 1}`;
    names.set(text, name);
  }
  return name;
}
