/**
 * A google.protobuf.Value number may be NaN or ±Infinity in binary protobuf, but proto3 JSON has
 * no way to write it (a double field is written as the string "NaN", a Value cannot be), so
 * protobuf-es refuses to write such a message as JSON at all. Ingest refuses these numbers
 * (nonFiniteNumberViolations); an event that holds one all the same (stored before that rule, or
 * written underneath) is written to JSON with each such number as the string "NaN", "Infinity" or
 * "-Infinity" (withJsonSafeNumbers), while binary answers keep its bytes. Offline verification of
 * an export turns them back (withNonFiniteNumbersRestored) when that gives the hash the log signed.
 *
 * Values sit in Struct, Value and ListValue fields at any depth, and in extensions: a
 * google.protobuf.Any of a type the JSON registry knows is written unpacked, so it is looked into.
 */
import {
  type DescField,
  type DescMessage,
  type JsonObject,
  type JsonValue,
  type Message,
  toBinary,
} from "@bufbuild/protobuf";
import { type Any, anyUnpack, type Value } from "@bufbuild/protobuf/wkt";
import type { FieldViolation } from "./errors.ts";
import { jsonRegistry } from "./formats/registry.ts";

/** Called with each Value number and string and where it is; returns its replacement, or undefined to keep it. */
type OnLeaf = (leaf: number | string, path: Path) => number | string | undefined;

const isNonFinite = (leaf: number | string): leaf is number => typeof leaf === "number" && !Number.isFinite(leaf);

/** Every non-finite Value number in the message, named by its path under `prefix` (proto field names). */
export function nonFiniteNumberViolations(desc: DescMessage, message: Message, prefix: string): FieldViolation[] {
  const violations: FieldViolation[] = [];
  walkMessage(desc, message, new Path(prefix), (leaf, path) => {
    if (isNonFinite(leaf)) {
      violations.push({
        field: path.toString(),
        description: `number_value ${leaf} cannot be represented in proto3 JSON`,
      });
    }
    return undefined;
  });
  return violations;
}

/** The message, changed in place: each non-finite Value number becomes its name as a string. */
export function withJsonSafeNumbers<T extends Message>(desc: DescMessage, message: T): T {
  walkMessage(desc, message, new Path(""), (leaf) => (isNonFinite(leaf) ? String(leaf) : undefined));
  return message;
}

const NON_FINITE_NAMES = new Set(["NaN", "Infinity", "-Infinity"]);

/**
 * The message, changed in place: each Value string "NaN", "Infinity" or "-Infinity" becomes that
 * number again, undoing withJsonSafeNumbers (and changing a string that was one all along).
 */
export function withNonFiniteNumbersRestored<T extends Message>(desc: DescMessage, message: T): T {
  walkMessage(desc, message, new Path(""), (leaf) =>
    typeof leaf === "string" && NON_FINITE_NAMES.has(leaf) ? Number(leaf) : undefined,
  );
  return message;
}

/**
 * Where the walk is, as a stack of parts each with an optional key (`[key]`), made a string only
 * when asked: most walks name nothing, and building every path cost more than the walk.
 */
class Path {
  readonly #parts: string[] = [];
  readonly #keys: (string | number | undefined)[] = [];

  constructor(prefix: string) {
    if (prefix !== "") this.push(prefix);
  }

  push(part: string, key?: string | number): void {
    this.#parts.push(part);
    this.#keys.push(key);
  }

  pop(): void {
    this.#parts.pop();
    this.#keys.pop();
  }

  toString(): string {
    let path = "";
    for (let i = 0; i < this.#parts.length; i++) {
      const part = this.#parts[i];
      const key = this.#keys[i];
      path += path === "" || part.startsWith("[") ? part : `.${part}`;
      if (typeof key === "number") path += `[${key}]`;
      else if (key !== undefined) path += `[${JSON.stringify(key)}]`;
    }
    return path;
  }
}

const STRUCT = "google.protobuf.Struct";
const VALUE = "google.protobuf.Value";
const ANY = "google.protobuf.Any";

// biome-ignore lint/suspicious/noExplicitAny: fields are read by their descriptor's local name.
type Local = any;

/** Walks a message in its local (generated) form; returns whether anything in it was replaced. */
function walkMessage(desc: DescMessage, message: Local, path: Path, on: OnLeaf): boolean {
  if (desc.typeName === VALUE) {
    const value = message as Value;
    if (value.kind.case === "numberValue" || value.kind.case === "stringValue") {
      const replacement = on(value.kind.value, path);
      if (replacement === undefined) return false;
      value.kind =
        typeof replacement === "number"
          ? { case: "numberValue", value: replacement }
          : { case: "stringValue", value: replacement };
      return true;
    }
  }
  if (desc.typeName === ANY) return walkAny(message as Any, path, on);
  let changed = false;
  for (const field of fieldsToWalk(desc)) {
    const value = localValue(field, message);
    if (value === undefined) continue;
    if (field.fieldKind === "message") {
      path.push(field.name);
      changed = walkField(field.message, field, value, path, on) || changed;
      path.pop();
    } else if (field.fieldKind === "list") {
      (value as Local[]).forEach((item, i) => {
        path.push(field.name, i);
        changed = walkField(field.message, field, item, path, on) || changed;
        path.pop();
      });
    } else {
      for (const [key, item] of Object.entries(value as Record<string, Local>)) {
        path.push(field.name, key);
        changed = walkField(field.message, field, item, path, on) || changed;
        path.pop();
      }
    }
  }
  return changed;
}

type WalkedField = DescField & { fieldKind: "message" | "list" | "map"; message: DescMessage };

const walked = new WeakMap<DescMessage, WalkedField[]>();

/** The message-typed fields of `desc` whose messages can hold a Value, directly or deeper. */
function fieldsToWalk(desc: DescMessage): WalkedField[] {
  let fields = walked.get(desc);
  if (fields === undefined) {
    fields = desc.fields.filter(
      (field): field is WalkedField => messageOf(field) !== undefined && reachesValue(messageOf(field) as DescMessage),
    );
    walked.set(desc, fields);
  }
  return fields;
}

function messageOf(field: DescField): DescMessage | undefined {
  if (field.fieldKind === "message") return field.message;
  if (field.fieldKind === "list" && field.listKind === "message") return field.message;
  if (field.fieldKind === "map" && field.mapKind === "message") return field.message;
  return undefined;
}

/** Whether a message of this type can hold a Value or an Any: a search of the types it reaches. */
function reachesValue(desc: DescMessage): boolean {
  const seen = new Set<DescMessage>([desc]);
  const queue = [desc];
  for (let next = queue.pop(); next !== undefined; next = queue.pop()) {
    if (next.typeName === VALUE || next.typeName === ANY) return true;
    for (const field of next.fields) {
      const message = messageOf(field);
      if (message !== undefined && !seen.has(message)) {
        seen.add(message);
        queue.push(message);
      }
    }
  }
  return false;
}

/** A message-typed value of a field: a Struct held as a JsonObject (outside Value), or a message. */
function walkField(desc: DescMessage, field: DescField, value: Local, path: Path, on: OnLeaf): boolean {
  if (desc.typeName === STRUCT && field.parent.typeName !== VALUE) return walkJsonObject(value, path, on);
  return walkMessage(desc, value, path, on);
}

/** A Struct in protobuf-es's JSON form, named as its message form: `fields["key"]`, `struct_value`, `list_value.values[i]`. */
function walkJsonObject(object: JsonObject, path: Path, on: OnLeaf): boolean {
  let changed = false;
  for (const key of Object.keys(object)) {
    path.push("fields", key);
    changed = walkJsonIn(object, key, path, on) || changed;
    path.pop();
  }
  return changed;
}

/** The JSON value at `parent[key]`, replaced there if it is a leaf `on` replaces. */
function walkJsonIn(parent: JsonObject | JsonValue[], key: string | number, path: Path, on: OnLeaf): boolean {
  const value = (parent as Record<string | number, JsonValue>)[key];
  if (typeof value === "number" || typeof value === "string") {
    const replacement = on(value, path);
    if (replacement === undefined) return false;
    // Defined, not assigned: assigning to a key "__proto__" would not set it.
    Object.defineProperty(parent, key, { value: replacement, writable: true, enumerable: true, configurable: true });
    return true;
  }
  if (value === null || typeof value !== "object") return false;
  if (!Array.isArray(value)) {
    path.push("struct_value");
    const changed = walkJsonObject(value, path, on);
    path.pop();
    return changed;
  }
  let changed = false;
  for (let i = 0; i < value.length; i++) {
    path.push("list_value.values", i);
    changed = walkJsonIn(value, i, path, on) || changed;
    path.pop();
  }
  return changed;
}

/**
 * An Any of a type the registry knows, unpacked, walked, and packed again if changed. One whose
 * bytes do not decode holds no Value this walk can name.
 */
function walkAny(any: Any, path: Path, on: OnLeaf): boolean {
  let message: Message | undefined;
  try {
    message = anyUnpack(any, jsonRegistry);
  } catch {
    return false;
  }
  const desc = message && jsonRegistry.getMessage(message.$typeName);
  if (message === undefined || desc === undefined) return false;
  path.push(`[${message.$typeName}]`);
  const changed = walkMessage(desc, message, path, on);
  path.pop();
  if (changed) any.value = toBinary(desc, message);
  return changed;
}

/** A field's value in the message's local form; undefined when unset (or another oneof member is). */
function localValue(field: DescField, message: Local): unknown {
  if (field.oneof === undefined) return message[field.localName];
  const oneof = message[field.oneof.localName];
  return oneof?.case === field.localName ? oneof.value : undefined;
}
