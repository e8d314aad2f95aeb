import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import type { AnyValue, KeyValue } from "../../../gen/opentelemetry/proto/common/v1/common_pb.ts";

/** The longest attribute string a span or log record may carry; longer ones refuse that span. */
export const MAX_ATTRIBUTE_CHARS = 1024 * 1024;

/**
 * OTLP attributes as JSON, read by key. Every key read is remembered, so what no Chaukas field
 * took (`unread`) is kept in the event's metadata.
 */
export class Attributes {
  readonly #values = new Map<string, JsonValue>();
  readonly #read = new Set<string>();

  constructor(keyValues: readonly KeyValue[]) {
    for (const { key, value } of keyValues) this.#values.set(key, anyValueToJson(value));
  }

  has(key: string): boolean {
    return this.#values.has(key);
  }

  get(key: string): JsonValue | undefined {
    this.#read.add(key);
    return this.#values.get(key);
  }

  /** A string attribute; numbers and booleans are written as text. */
  string(key: string): string | undefined {
    const value = this.get(key);
    if (typeof value === "string") return value;
    if (typeof value === "number" || typeof value === "boolean") return String(value);
    return undefined;
  }

  /** The first of `keys` that holds a string. */
  firstString(...keys: string[]): string | undefined {
    for (const key of keys) {
      const value = this.string(key);
      if (value !== undefined && value !== "") return value;
    }
    return undefined;
  }

  number(...keys: string[]): number | undefined {
    for (const key of keys) {
      const value = this.get(key);
      if (typeof value === "number") return value;
      if (typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value))) return Number(value);
    }
    return undefined;
  }

  strings(key: string): string[] {
    const value = this.get(key);
    if (Array.isArray(value)) return value.filter((v): v is string => typeof v === "string");
    return typeof value === "string" ? [value] : [];
  }

  /** Keys that start with `prefix`, read. */
  withPrefix(prefix: string): [string, JsonValue][] {
    return [...this.#values.keys()].filter((k) => k.startsWith(prefix)).map((k) => [k, this.get(k) as JsonValue]);
  }

  /** Attributes no reader asked for. */
  unread(): JsonObject {
    const rest: JsonObject = {};
    for (const [key, value] of this.#values) if (!this.#read.has(key)) rest[key] = value;
    return rest;
  }

  all(): JsonObject {
    return Object.fromEntries(this.#values);
  }
}

/**
 * An OTLP AnyValue as JSON that proto3 JSON can write back: int64 beyond 2^53 and non-finite
 * doubles as text, bytes as base64.
 */
export function anyValueToJson(value: AnyValue | undefined): JsonValue {
  const v = value?.value;
  switch (v?.case) {
    case "stringValue":
    case "boolValue":
      return v.value;
    case "intValue":
      return Number.isSafeInteger(Number(v.value)) ? Number(v.value) : v.value.toString();
    case "doubleValue":
      return Number.isFinite(v.value) ? v.value : String(v.value);
    case "bytesValue":
      return Buffer.from(v.value).toString("base64");
    case "arrayValue":
      return v.value.values.map(anyValueToJson);
    case "kvlistValue":
      return Object.fromEntries(v.value.values.map((kv) => [kv.key, anyValueToJson(kv.value)]));
    default:
      return null;
  }
}

/** The first attribute (by key) holding a string longer than MAX_ATTRIBUTE_CHARS. */
export function oversizedAttribute(keyValues: readonly KeyValue[]): string | undefined {
  return keyValues.find(({ value }) => longestString(value) > MAX_ATTRIBUTE_CHARS)?.key;
}

function longestString(value: AnyValue | undefined): number {
  const v = value?.value;
  if (v?.case === "stringValue") return v.value.length;
  if (v?.case === "bytesValue") return v.value.byteLength;
  if (v?.case === "arrayValue") return Math.max(0, ...v.value.values.map(longestString));
  if (v?.case === "kvlistValue") return Math.max(0, ...v.value.values.map((kv) => longestString(kv.value)));
  return 0;
}

/** A JSON text (as tools' arguments and results travel) as a Struct: objects as they are, anything else under `value`. */
export function jsonStruct(value: JsonValue | undefined): JsonObject | undefined {
  if (value === undefined || value === null) return undefined;
  const parsed = parsedJson(value);
  return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? parsed : { value: parsed };
}

/** A string holding JSON (messages, arguments) as that JSON; any other value as it is. */
export function parsedJson(value: JsonValue): JsonValue {
  if (typeof value !== "string") return value;
  try {
    return JSON.parse(value) as JsonValue;
  } catch {
    return value;
  }
}
