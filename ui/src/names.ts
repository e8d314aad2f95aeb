import { Author, EventStatus, EventType, Severity } from "../../gen/chaukas/spec/common/v1/events_pb.ts";

/** Enum values as the page shows them: `TOOL_CALL_START`, `FAILED`, `WARN`. */
function namer(values: Record<string, number>): (value: number) => string {
  const names = new Map(Object.entries(values).map(([name, value]) => [value, name]));
  return (value) => names.get(value) ?? String(value);
}

export const typeName = namer(EventType);
export const statusName = namer(EventStatus);
export const severityName = namer(Severity);
export const authorName = namer(Author);

/** Names a filter may use, in the order a menu lists them (UNSPECIFIED left out). */
export const namesOf = (values: Record<string, number>) => Object.keys(values).filter((name) => name !== "UNSPECIFIED");

/** An enum name as words in running text and menus: `TOOL_CALL_START` reads "tool call start". */
export const words = (name: string) => name.toLowerCase().replaceAll("_", " ");
