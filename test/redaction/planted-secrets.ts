import { randomBytes, randomInt } from "node:crypto";
import type { Event } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import { fullEvent } from "../support/events.ts";

/** Secrets and personal data, each unique to one planting, and the text that must be found nowhere. */
export interface Planted {
  text: string;
  /** What a scan looks for: the part no redaction leaves (a card's digits, an address's local part). */
  needles: string[];
}

const alnum = (n: number) => randomBytes(n).toString("base64url").replace(/[-_]/g, "x").slice(0, n);
const digits = (n: number) => Array.from({ length: n }, () => randomInt(10)).join("");

/** A fresh set: one of each detector's kind. */
export function plantedSet(): Planted[] {
  const openai = `sk-proj-${alnum(32)}`;
  const aws = `AKIA${alnum(16)
    .toUpperCase()
    .replace(/[^A-Z0-9]/g, "Q")}`;
  const jwtBody = alnum(24);
  const jwt = `eyJhbGciOiJIUzI1NiJ9.eyJ${jwtBody}.${alnum(20)}`;
  const keyBody = alnum(40);
  const privateKey = `-----BEGIN PRIVATE KEY-----\nMIIE${keyBody}\n-----END PRIVATE KEY-----`;
  const local = `user${alnum(10).toLowerCase()}`;
  const phone = `+44 20 ${digits(4)} ${digits(4)}`;
  const card = luhnCard();
  const iban = gbIban();
  return [
    { text: openai, needles: [openai.slice(8)] },
    { text: aws, needles: [aws] },
    { text: jwt, needles: [jwtBody] },
    { text: privateKey, needles: [keyBody] },
    { text: `${local}@example.com`, needles: [local] },
    { text: phone, needles: [phone.slice(7).replace(" ", ""), phone.slice(7)] },
    { text: card.replace(/(\d{4})/g, "$1 ").trim(), needles: [card, card.slice(4, 12)] },
    { text: iban, needles: [iban.slice(8)] },
  ];
}

/**
 * The event of this content kind with the planted texts in its content (every string, and a key
 * in every Struct), metadata, tags, and its message or error text if it has one.
 */
export function plantedEvent(content: Parameters<typeof fullEvent>[0], planted: Planted[]): Event {
  const joined = planted.map((p) => p.text).join(" | ");
  const event = fullEvent(content);
  event.tags = [...event.tags, ...planted.slice(0, 4).map((p) => `t:${p.text}`.slice(0, 256))];
  event.metadata = { ...event.metadata, note: joined, nested: { list: [joined] } };
  const value = event.content.value as unknown as Record<string, unknown>;
  for (const [key, field] of Object.entries(value)) {
    if (key === "$typeName") continue;
    if (typeof field === "string") value[key] = `${field} ${joined}`;
    else if (field !== null && typeof field === "object" && !Array.isArray(field) && !("$typeName" in field)) {
      (field as Record<string, unknown>).planted = joined;
    }
  }
  return event;
}

function luhnCard(): string {
  const body = `4${digits(14)}`;
  for (let check = 0; check < 10; check++) {
    const candidate = `${body}${check}`;
    let sum = 0;
    for (let i = 0; i < candidate.length; i++) {
      let d = Number(candidate[candidate.length - 1 - i]);
      if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
      sum += d;
    }
    if (sum % 10 === 0) return candidate;
  }
  throw new Error("unreachable");
}

function gbIban(): string {
  const bban = `WEST${digits(14)}`;
  const moved = `${bban}GB00`.replace(/[A-Z]/g, (c) => String(c.charCodeAt(0) - 55));
  const check = 98 - Number(BigInt(moved) % 97n);
  return `GB${String(check).padStart(2, "0")}${bban}`;
}
