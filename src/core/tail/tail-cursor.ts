import { InvalidArgumentError } from "../../lib/errors.ts";
import type { TailPosition } from "../../store/event-store.ts";

const VERSION = 1;
const HEADER_BYTES = 9;
/** Longer than any stored event id could be; a cursor past it was not made here. */
const MAX_CURSOR_BYTES = HEADER_BYTES + 4096;

/**
 * A tail cursor: base64url of a version byte, the position's transaction id (8 bytes, big-endian)
 * and its event id (UTF-8). Not signed: it names a place in the tenant's order and grants nothing,
 * since the stream it resumes is scoped and filtered like any other.
 */
export function encodeTailCursor(position: TailPosition): string {
  const id = Buffer.from(position.eventId, "utf8");
  const bytes = Buffer.alloc(HEADER_BYTES + id.byteLength);
  bytes.writeUInt8(VERSION, 0);
  bytes.writeBigUInt64BE(position.xid, 1);
  id.copy(bytes, HEADER_BYTES);
  return bytes.toString("base64url");
}

/** The position of a cursor made by encodeTailCursor; anything else is an InvalidArgumentError on `field`. */
export function decodeTailCursor(cursor: string, field: string): TailPosition {
  const bytes = Buffer.from(cursor, "base64url");
  // Node decodes base64url leniently: a cursor that does not re-encode to itself was edited.
  const problem =
    bytes.toString("base64url") !== cursor || bytes.byteLength < HEADER_BYTES || bytes.byteLength > MAX_CURSOR_BYTES
      ? "is not a cursor of this server"
      : bytes.readUInt8(0) !== VERSION
        ? `has version ${bytes.readUInt8(0)}, which this server does not read`
        : undefined;
  if (problem) throw new InvalidArgumentError([{ field, description: problem }]);
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  let eventId: string | undefined;
  try {
    eventId = decoder.decode(bytes.subarray(HEADER_BYTES));
  } catch {}
  // No stored event id holds NUL (ids.ts), and PostgreSQL text cannot: sent as the tenant poller's
  // horizon, one would fail every poll of the tenant's streams.
  if (eventId === undefined || eventId.includes("\0")) {
    throw new InvalidArgumentError([{ field, description: "is not a cursor of this server" }]);
  }
  return { xid: bytes.readBigUInt64BE(1), eventId };
}

/** Whether `a` comes after `b` in the tail's order (event ids compare as the database's "C" collation: by bytes). */
export function isAfter(a: TailPosition, b: TailPosition): boolean {
  return a.xid !== b.xid ? a.xid > b.xid : Buffer.compare(Buffer.from(a.eventId), Buffer.from(b.eventId)) > 0;
}
