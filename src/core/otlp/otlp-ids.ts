import { sha256 } from "../../lib/bytes.ts";

/** OTLP ids as Chaukas stores them: lowercase hex; an empty id stays empty. */
export function hexId(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

/** Why a trace or span id cannot be used (wrong length, all zeros), or undefined when it can. */
export function otlpIdProblem(bytes: Uint8Array, length: 16 | 8, optional = false): string | undefined {
  if (optional && bytes.byteLength === 0) return undefined;
  if (bytes.byteLength !== length) return `must be ${length} bytes, got ${bytes.byteLength}`;
  if (bytes.every((b) => b === 0)) return "must not be all zeros";
  return undefined;
}

/**
 * A UUID (version 8, RFC 9562: a name-based id of our own) derived from `parts`, e.g. trace id,
 * span id and "start": the same span sent again gets the same event ids, and ingest absorbs it.
 */
export function derivedEventId(...parts: string[]): string {
  const bytes = sha256(`chaukas-otlp\n${parts.join("\n")}`).subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x80;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
