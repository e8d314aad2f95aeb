import { randomBytes, timingSafeEqual } from "node:crypto";
import { sha256 } from "../lib/bytes.ts";

/**
 * API keys. A key reads `chk_<id>_<secret>`: the fixed `chk_` prefix lets secret scanners find
 * leaked keys, `<id>` (12 characters, public) names the key in lists and logs, and `<secret>` is
 * 32 random bytes. Only SHA-256 of the secret is stored: with that much entropy a fast hash is
 * safe, and comparison is constant-time.
 */

const PREFIX = "chk_";
const ID_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789";
const ID_LENGTH = 12;
const KEY_PATTERN = /^chk_([a-z2-9]{12})_([A-Za-z0-9_-]{43})$/;

export interface NewKey {
  id: string;
  /** The whole key, shown once and never stored. */
  secret: string;
  secretHash: Uint8Array;
}

export function generateKey(): NewKey {
  const idBytes = randomBytes(ID_LENGTH);
  const id = Array.from(idBytes, (b) => ID_ALPHABET[b % ID_ALPHABET.length]).join("");
  const secretPart = randomBytes(32).toString("base64url");
  return { id, secret: `${PREFIX}${id}_${secretPart}`, secretHash: hashSecret(secretPart) };
}

/** Splits a presented key into its public id and secret part; undefined when malformed. */
export function parseKey(presented: string): { id: string; secretPart: string } | undefined {
  const match = KEY_PATTERN.exec(presented);
  return match ? { id: match[1], secretPart: match[2] } : undefined;
}

export function secretMatches(secretPart: string, storedHash: Uint8Array): boolean {
  const hash = hashSecret(secretPart);
  return hash.length === storedHash.length && timingSafeEqual(hash, storedHash);
}

function hashSecret(secretPart: string): Buffer {
  return sha256(secretPart);
}
