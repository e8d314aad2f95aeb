import { createHmac, createSecretKey, type KeyObject } from "node:crypto";
import { type DescField, type DescMessage, type JsonValue, ScalarType } from "@bufbuild/protobuf";
import { type Event, EventSchema } from "../../../gen/chaukas/spec/common/v1/events_pb.ts";
import { OPTIONAL_IDS, REQUIRED_IDS } from "../../codec/event-fields.ts";
import { DETECTORS, type Detector, replaceDetected } from "./detectors.ts";
import type { EffectiveRules, Method } from "./rules.ts";

/** A tenant's HMAC secret for the hash method, and the id RedactionInfo.salt_id names it by. */
export interface HashKey {
  saltId: string;
  secret: Uint8Array;
}

/** What was done to an event, as its RedactionInfo says it. */
export interface RedactionDone {
  fields: string[];
  methods: Set<Method>;
}

/** Rules for one project, ready to run on events. */
export interface Redaction {
  readonly rules: EffectiveRules;
  readonly detectors: readonly Detector[];
  readonly hashKey?: HashKey;
  /** hashKey's secret as a KeyObject, made once: given raw bytes, createHmac imports the key on every call. */
  readonly hmacKey?: KeyObject;
  /** Matches an event's bytes (as Latin-1) whenever a detector may find something in the event. */
  readonly trigger: RegExp | undefined;
  /** Matches them whenever a Struct key some field rule ends with is in the event. */
  readonly fieldTrigger: RegExp | undefined;
  /** Some field rule names a proto field, present or not whatever the bytes say: decode every event. */
  readonly alwaysDecode: boolean;
}

/** Fields never redacted: the ids and integrity fields the store indexes, and RedactionInfo itself. */
const KEPT_FIELDS = new Set<string>([
  ...REQUIRED_IDS,
  ...OPTIONAL_IDS,
  "hashPrev",
  "contentHash",
  "wormProofId",
  "redaction",
  "timestamp",
]);

const STRUCT = "google.protobuf.Struct";
const ANY = "google.protobuf.Any";

/** The fields of a message that can hold text: strings, Structs, extensions, or messages holding them. */
const withText = new WeakMap<DescMessage, DescField[]>();

function fieldsWithText(desc: DescMessage): DescField[] {
  let fields = withText.get(desc);
  if (fields === undefined) {
    fields = desc.fields.filter((field) => holdsText(field, new Set()));
    withText.set(desc, fields);
  }
  return fields;
}

function holdsText(field: DescField, seen: Set<DescMessage>): boolean {
  if (field.fieldKind === "scalar" || (field.fieldKind === "list" && field.listKind === "scalar")) {
    return field.scalar === ScalarType.STRING;
  }
  if (field.fieldKind !== "message" && !(field.fieldKind === "list" && field.listKind === "message")) return false;
  const message = field.message;
  if (message.typeName === STRUCT || message.typeName === ANY) return true;
  if (seen.has(message)) return false;
  seen.add(message);
  return message.fields.some((f) => holdsText(f, seen));
}

/** The Event's fields with text, but for those never redacted. */
const EVENT_TEXT_FIELDS = fieldsWithText(EventSchema).filter((f) => !KEPT_FIELDS.has(f.localName));

/** The proto names of every field of an Event and the messages in it. */
const PROTO_FIELD_NAMES = protoFieldNames(EventSchema, new Set());

/** The content oneof's case names: a rule path may say `content` for whichever is set. */
const CONTENT_CASES = new Set(
  EventSchema.oneofs.find((o) => o.localName === "content")?.fields.map((f) => f.name) ?? [],
);

/**
 * Why a field rule's path would redact nothing, or undefined when the walk below visits what it
 * names: each name a field with text of the message before it (an event's redactable fields at
 * first, any content's after `content`), down to a Struct, whose keys are free. No list indexes: a
 * rule covers every item of a list.
 */
export function rulePathProblem(path: string): string | undefined {
  if (/[[\]]/.test(path)) return "takes no list indexes: a rule covers every item of a list";
  const names = path.split(".");
  if (names.includes("")) return "is not a path";
  let fields: DescField[] | "keys" = EVENT_TEXT_FIELDS;
  for (const [i, name] of names.entries()) {
    if (fields === "keys") return undefined;
    const named: DescField[] =
      i === 0 && name === "content"
        ? EVENT_TEXT_FIELDS.filter((f) => CONTENT_CASES.has(f.name))
        : fields.filter((f) => f.name === name);
    if (named.length === 0) {
      return `has no field "${name}" with text${i === 0 ? "" : ` in ${names.slice(0, i).join(".")}`}`;
    }
    // An Any is kept or dropped whole: nothing inside it is a place of its own.
    const inside = named.map((f) =>
      f.message?.typeName === STRUCT
        ? "keys"
        : f.message && f.message.typeName !== ANY
          ? fieldsWithText(f.message)
          : [],
    );
    fields = inside.includes("keys") ? "keys" : (inside.flat() as DescField[]);
  }
  return undefined;
}

export function compileRedaction(rules: EffectiveRules, hashKey?: HashKey): Redaction {
  const detectors = DETECTORS.filter((d) => rules.detectors.has(d.name));
  const needles = [...rules.fields.keys()].map((path) => path.slice(path.lastIndexOf(".") + 1));
  return {
    rules,
    detectors,
    hashKey,
    hmacKey: hashKey && createSecretKey(hashKey.secret),
    trigger: anyOf(detectors.map((d) => d.trigger.source)),
    fieldTrigger: anyOf(needles.map(escapeRegExp)),
    alwaysDecode: needles.some((name) => PROTO_FIELD_NAMES.has(name)),
  };
}

/** Whether an event's canonical encoding may hold something the rules redact: the cheap test before decoding. */
export function mayApply(redaction: Redaction, payload: Uint8Array): boolean {
  if (redaction.alwaysDecode) return true;
  if (redaction.trigger === undefined && redaction.fieldTrigger === undefined) return false;
  const bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString("latin1");
  if (redaction.fieldTrigger?.test(bytes)) return true;
  if (redaction.trigger === undefined || !redaction.trigger.test(bytes)) return false;
  return redaction.detectors.some((d) => d.trigger.test(bytes) && (d.possible === undefined || d.possible(bytes)));
}

/** Redacts the event in place; returns what was done, or undefined when nothing was. */
export function redactEvent(redaction: Redaction, event: Event): RedactionDone | undefined {
  const walk = new Walk(redaction);
  walk.message(EventSchema, event as unknown as Holder, "", [""], true);
  return walk.done.fields.length === 0 ? undefined : walk.done;
}

const DROP = Symbol("drop");
type Holder = Record<string, unknown>;

/** One walk over an event: each string checked by the detectors, each field rule applied where its path is. */
class Walk {
  readonly done: RedactionDone = { fields: [], methods: new Set() };
  readonly #redaction: Redaction;
  readonly #textTrigger: RegExp | undefined;

  constructor(redaction: Redaction) {
    this.#redaction = redaction;
    this.#textTrigger = redaction.trigger;
  }

  /** `norms`: the rule paths this node answers to (with `content` for the content case too). */
  message(desc: DescMessage, msg: Holder, path: string, norms: string[], top = false, forced?: Method): void {
    const withRules = this.#redaction.rules.fields.size > 0;
    for (const field of top ? EVENT_TEXT_FIELDS : fieldsWithText(desc)) {
      const holder = field.oneof ? (msg[field.oneof.localName] as Holder) : msg;
      if (field.oneof && holder.case !== field.localName) continue;
      const key = field.oneof ? "value" : field.localName;
      const value = holder[key];
      if (value === undefined || value === "" || (Array.isArray(value) && value.length === 0)) continue;
      const at = join(path, field.name);
      const fieldNorms = withRules ? norms.map((n) => join(n, field.name)) : norms;
      if (withRules && top && CONTENT_CASES.has(field.name)) fieldNorms.push("content");
      const rule = forced ? undefined : this.#ruleAt(fieldNorms);
      if (rule === "drop") {
        holder[key] = field.oneof ? undefined : emptyOf(field, value);
        if (field.oneof) msg[field.oneof.localName] = { case: undefined };
        this.#record(at, "drop");
        continue;
      }
      if (rule) this.#record(at, rule);
      this.#field(field, holder, key, at, fieldNorms, rule ?? forced);
    }
  }

  #field(field: DescField, holder: Holder, key: string, at: string, norms: string[], forced?: Method): void {
    const value = holder[key];
    if (field.fieldKind === "scalar" && typeof value === "string") {
      const text = this.#text(value, at, forced);
      holder[key] = text === DROP ? "" : text;
    } else if (field.fieldKind === "list" && field.listKind === "scalar") {
      holder[key] = (value as unknown[]).flatMap((item, i) =>
        typeof item === "string" ? this.#kept(this.#text(item, `${at}[${i}]`, forced)) : [item],
      );
    } else if (field.fieldKind === "list" && field.listKind === "message") {
      const items = value as Holder[];
      if (field.message.typeName === ANY) {
        holder[key] = items.filter((any, i) => this.#keepAny(any, `${at}[${i}]`, forced));
      } else {
        items.forEach((item, i) => {
          this.message(field.message, item, `${at}[${i}]`, norms, false, forced);
        });
      }
    } else if (field.fieldKind === "message") {
      if (field.message.typeName === STRUCT) {
        holder[key] = this.#json(value as JsonValue, at, norms, forced);
      } else if (field.message.typeName !== "google.protobuf.Timestamp") {
        this.message(field.message, value as Holder, at, norms, false, forced);
      }
    }
  }

  /** A Struct value, redacted; DROP when it is to be removed from its object or list. */
  #json(value: JsonValue, at: string, norms: string[], forced?: Method): JsonValue | typeof DROP {
    if (typeof value === "string") return this.#text(value, at, forced);
    if (Array.isArray(value))
      return value.flatMap((item, i) => this.#kept(this.#json(item, `${at}[${i}]`, norms, forced)));
    if (value !== null && typeof value === "object") {
      for (const [name, item] of Object.entries(value)) {
        const itemAt = `${at}.${name}`;
        const itemNorms = this.#redaction.rules.fields.size > 0 ? norms.map((n) => `${n}.${name}`) : norms;
        const rule = forced ? undefined : this.#ruleAt(itemNorms);
        if (rule) this.#record(itemAt, rule);
        const redacted = rule === "drop" ? DROP : this.#json(item, itemAt, itemNorms, rule ?? forced);
        if (redacted === DROP) delete value[name];
        // Defined, not assigned: assigning to a key "__proto__" would not set it.
        else
          Object.defineProperty(value, name, { value: redacted, writable: true, enumerable: true, configurable: true });
      }
      return value;
    }
    // Numbers, booleans and null are text to no detector; a field rule replaces them like strings.
    return forced ? this.#replaced(JSON.stringify(value), forced) : value;
  }

  /** A string, redacted: whole by a field rule in force, else each detected match. */
  #text(text: string, at: string, forced?: Method): string | typeof DROP {
    if (forced) return this.#replaced(text, forced);
    if (this.#textTrigger === undefined || !this.#textTrigger.test(text)) return text;
    let dropped = false;
    const methods = new Set<Method>();
    const result = replaceDetected(text, this.#redaction.detectors, (match, detector) => {
      const method = this.#redaction.rules.detectors.get(detector.name) ?? "mask";
      methods.add(method);
      if (method === "drop") dropped = true;
      return method === "hash" ? `[${detector.name}:${this.#hmac(match)}]` : `[REDACTED:${detector.name}]`;
    });
    for (const method of methods) this.#record(at, method);
    return dropped ? DROP : result;
  }

  /** An extension is bytes no detector reads: one that may hold a match, or under a rule, is dropped. */
  #keepAny(any: Holder, at: string, forced?: Method): boolean {
    const bytes = any.value as Uint8Array;
    const text = `${any.typeUrl as string} ${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1")}`;
    if (!forced && (this.#textTrigger === undefined || !this.#textTrigger.test(text))) return true;
    this.#record(at, "drop");
    return false;
  }

  #replaced(text: string, method: Method): string | typeof DROP {
    if (method === "drop") return DROP;
    return method === "hash" ? `[hmac:${this.#hmac(text)}]` : "[REDACTED]";
  }

  #kept<T>(value: T | typeof DROP): T[] {
    return value === DROP ? [] : [value];
  }

  /** `norms` hold no list indexes: list items take their list's. */
  #ruleAt(norms: string[]): Method | undefined {
    if (this.#redaction.rules.fields.size === 0) return undefined;
    for (const n of norms) {
      const method = this.#redaction.rules.fields.get(n);
      if (method) return method;
    }
    return undefined;
  }

  #hmac(value: string): string {
    const key = this.#redaction.hmacKey;
    // Rules that hash load the tenant's key first (redactions.ts): none here is a bug, and the event is refused.
    if (key === undefined) throw new Error("the hash method has no key");
    return createHmac("sha256", key).update(value).digest("hex").slice(0, 32);
  }

  #record(at: string, method: Method): void {
    if (this.done.fields.at(-1) !== at) this.done.fields.push(at);
    this.done.methods.add(method);
  }
}

function join(path: string, name: string): string {
  return path === "" ? name : `${path}.${name}`;
}

/** What a dropped field is set to: proto3's default of its type (a message: absent). */
function emptyOf(field: DescField, value: unknown): unknown {
  if (field.fieldKind === "list") return [];
  if (field.fieldKind === "message") return undefined;
  return typeof value === "string" ? "" : typeof value === "bigint" ? 0n : typeof value === "boolean" ? false : 0;
}

function protoFieldNames(desc: DescMessage, seen: Set<string>, names = new Set<string>()): Set<string> {
  if (seen.has(desc.typeName)) return names;
  seen.add(desc.typeName);
  for (const field of desc.fields) {
    names.add(field.name);
    if (field.fieldKind === "message" && !field.message.typeName.startsWith("google.protobuf."))
      protoFieldNames(field.message, seen, names);
  }
  return names;
}

function anyOf(sources: string[]): RegExp | undefined {
  return sources.length === 0 ? undefined : new RegExp(sources.join("|"));
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
