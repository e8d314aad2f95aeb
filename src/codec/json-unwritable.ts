/**
 * What proto3 JSON cannot write, though binary protobuf carries it, so that protobuf-es refuses to
 * write the whole message as JSON:
 * - a google.protobuf.Value number that is NaN or ±Infinity (a double field is written as the
 *   string "NaN"; a Value cannot be);
 * - an extension (google.protobuf.Any) whose type_url names no message type, or whose value does
 *   not decode as the type the JSON registry knows by that name (JSON writes an Any unpacked), or
 *   that holds Anys nested more than MAX_NESTED_ANYS deep.
 * Ingest refuses both (jsonUnwritableViolations), and a Struct key holding a lone UTF-16
 * surrogate: JSON carries it, but UTF-8 cannot, so the canonical encoding writes it as U+FFFD and
 * two distinct keys could become one. An event that holds one all the same (stored
 * before that rule, or written underneath) is written to JSON by jsonWritable: each such number
 * as the string "NaN", "Infinity" or "-Infinity", each such extension as an empty Any (`{}`),
 * while binary answers keep its bytes. Offline verification of an export turns the numbers back
 * (withNonFiniteNumbersRestored) when that gives the hash the log signed.
 *
 * Values sit in Struct, Value and ListValue fields at any depth, and in extensions: an Any of a
 * type the JSON registry knows is written unpacked, so it is looked into.
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
import type { FieldViolation } from "../lib/errors.ts";
import { jsonRegistry } from "./formats/registry.ts";

/** What a walk does with each Value number and string, and with each extension JSON cannot write. */
interface Visitor {
  /** Returns the leaf's replacement, or undefined to keep it. */
  leaf(leaf: number | string, path: Path): number | string | undefined;
  /** Returns whether it changed the extension. */
  unwritable(any: Any, problem: string, path: Path): boolean;
  /** Sees each Struct key (the path ends with it). */
  key?(key: string, path: Path): void;
}

/** A lone surrogate: with the `u` flag a pair is one code point and does not match. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

const isNonFinite = (leaf: number | string): leaf is number => typeof leaf === "number" && !Number.isFinite(leaf);

/** Everything in the message that JSON cannot write, each named by its path under `prefix` (proto field names). */
export function jsonUnwritableViolations(desc: DescMessage, message: Message, prefix: string): FieldViolation[] {
  const violations: FieldViolation[] = [];
  walkMessage(desc, message, new Path(prefix), {
    leaf: (leaf, path) => {
      if (isNonFinite(leaf)) {
        violations.push({
          field: path.toString(),
          description: `number_value ${leaf} cannot be represented in proto3 JSON`,
        });
      }
      return undefined;
    },
    unwritable: (_, problem, path) => {
      violations.push({ field: path.toString(), description: `cannot be represented in proto3 JSON: ${problem}` });
      return false;
    },
    key: (key, path) => {
      if (LONE_SURROGATE.test(key)) {
        violations.push({
          field: path.toString(),
          description: "is a key with a lone UTF-16 surrogate, which the canonical encoding cannot tell from U+FFFD",
        });
      }
    },
  });
  return violations;
}

/**
 * The message, changed in place so that JSON can write it: each non-finite Value number becomes
 * its name as a string, and each extension JSON cannot write an empty Any.
 */
export function jsonWritable<T extends Message>(desc: DescMessage, message: T): T {
  walkMessage(desc, message, new Path(""), {
    leaf: (leaf) => (isNonFinite(leaf) ? String(leaf) : undefined),
    unwritable: (any) => {
      any.typeUrl = "";
      any.value = new Uint8Array(0);
      return true;
    },
  });
  return message;
}

const NON_FINITE_NAMES = new Set(["NaN", "Infinity", "-Infinity"]);

/**
 * The message, changed in place: each Value string "NaN", "Infinity" or "-Infinity" becomes that
 * number again, undoing jsonWritable (and changing a string that was one all along).
 */
export function withNonFiniteNumbersRestored<T extends Message>(desc: DescMessage, message: T): T {
  walkMessage(desc, message, new Path(""), {
    leaf: (leaf) => (typeof leaf === "string" && NON_FINITE_NAMES.has(leaf) ? Number(leaf) : undefined),
    unwritable: () => false,
  });
  return message;
}

/**
 * Where the walk is, as a stack of parts each with an optional key (`[key]`), made a string only
 * when asked: most walks name nothing, and building every path cost more than the walk.
 */
class Path {
  readonly #parts: string[] = [];
  readonly #keys: (string | number | undefined)[] = [];
  /** How many unpacked Anys the walk is inside. */
  anys = 0;

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
function walkMessage(desc: DescMessage, message: Local, path: Path, on: Visitor): boolean {
  if (desc.typeName === VALUE) {
    const value = message as Value;
    if (value.kind.case === "numberValue" || value.kind.case === "stringValue") {
      const replacement = on.leaf(value.kind.value, path);
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
function walkField(desc: DescMessage, field: DescField, value: Local, path: Path, on: Visitor): boolean {
  if (desc.typeName === STRUCT && field.parent.typeName !== VALUE) return walkJsonObject(value, path, on);
  return walkMessage(desc, value, path, on);
}

/** A Struct in protobuf-es's JSON form, named as its message form: `fields["key"]`, `struct_value`, `list_value.values[i]`. */
function walkJsonObject(object: JsonObject, path: Path, on: Visitor): boolean {
  let changed = false;
  for (const key of Object.keys(object)) {
    path.push("fields", key);
    on.key?.(key, path);
    changed = walkJsonIn(object, key, path, on) || changed;
    path.pop();
  }
  return changed;
}

/** The JSON value at `parent[key]`, replaced there if it is a leaf `on` replaces. */
function walkJsonIn(parent: JsonObject | JsonValue[], key: string | number, path: Path, on: Visitor): boolean {
  const value = (parent as Record<string | number, JsonValue>)[key];
  if (typeof value === "number" || typeof value === "string") {
    const replacement = on.leaf(value, path);
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
 * Anys packed in Anys are each decoded on their own, so no decode limits their nesting: writing
 * thousands of them as JSON exhausted the stack. Well below the 100 nested messages at which
 * protobuf-es stops reading JSON, so that clients can read the answer too.
 */
const MAX_NESTED_ANYS = 64;

/**
 * An Any: unpacked when the JSON registry knows its type, walked, and packed again if changed; one
 * that JSON cannot write goes to the visitor. An empty type_url is written as `{}`.
 */
function walkAny(any: Any, path: Path, on: Visitor): boolean {
  if (any.typeUrl === "") return false;
  if (path.anys >= MAX_NESTED_ANYS) {
    return on.unwritable(any, `it holds extensions nested more than ${MAX_NESTED_ANYS} deep`, path);
  }
  let message: Message | undefined;
  try {
    message = anyUnpack(any, jsonRegistry);
  } catch (err) {
    const typeName = any.typeUrl.slice(any.typeUrl.lastIndexOf("/") + 1);
    return on.unwritable(any, `its value is not a valid ${typeName}: ${(err as Error).message}`, path);
  }
  const desc = message && jsonRegistry.getMessage(message.$typeName);
  if (message === undefined || desc === undefined) {
    return on.unwritable(any, `its type_url ${JSON.stringify(any.typeUrl)} names no message type`, path);
  }
  path.push(`[${message.$typeName}]`);
  path.anys++;
  const changed = walkMessage(desc, message, path, on);
  path.anys--;
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
