import { EventStatus, Severity } from "../../../gen/chaukas/spec/common/v1/events_pb.ts";
import { type Filters, paramsOf, RANGES } from "../filters.ts";
import { namesOf, words } from "../names.ts";
import { navigate, urlOf } from "../router.ts";

/**
 * The filters of a view, written to the URL as they change (so a view can be shared): selects at
 * once, text fields on Enter or when they lose focus.
 */
export function FilterBar({
  path,
  filters,
  extra,
}: {
  path: string;
  filters: Filters;
  extra?: Record<string, string>;
}) {
  const apply = (change: Partial<Filters>) =>
    navigate(urlOf(path, { ...paramsOf({ ...filters, ...change }), ...extra }), { replace: true });
  const text = (field: keyof Filters, label: string, placeholder: string, width = "") => (
    <label class={`field ${width}`}>
      <span>{label}</span>
      <input
        name={field}
        value={filters[field]}
        placeholder={placeholder}
        spellcheck={false}
        onChange={(event) => apply({ [field]: event.currentTarget.value.trim() })}
      />
    </label>
  );
  const choice = (field: keyof Filters, label: string, options: [string, string][]) => (
    <label class="field">
      <span>{label}</span>
      <select name={field} value={filters[field]} onChange={(event) => apply({ [field]: event.currentTarget.value })}>
        {options.map(([value, name]) => (
          <option key={value} value={value}>
            {name}
          </option>
        ))}
      </select>
    </label>
  );
  const any = (values: Record<string, number>): [string, string][] => [
    ["", "Any"],
    ...namesOf(values).map((name): [string, string] => [name, words(name)]),
  ];
  return (
    <form class="filterbar" onSubmit={(event) => event.preventDefault()}>
      {choice(
        "range",
        "Time",
        Object.entries(RANGES).map(([value, { label }]) => [value, label]),
      )}
      {text("q", "Search", "text in events", "wide")}
      {text("project", "Project", "any")}
      {text("agent", "Agent id", "any")}
      {choice("status", "Status", any(EventStatus))}
      {choice("severity", "Severity", any(Severity))}
      {text("tags", "Tags", "a, b")}
      {text("tenant", "Tenant", "the key's")}
    </form>
  );
}
