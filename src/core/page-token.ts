import { createHash, createHmac, createSecretKey, type KeyObject, timingSafeEqual } from "node:crypto";
import { toBinary } from "@bufbuild/protobuf";
import { type QueryFilter, QueryFilterSchema } from "../../gen/chaukas/spec/common/v1/query_pb.ts";
import { InvalidArgumentError } from "../lib/errors.ts";
import type { EventCursor } from "../store/event-store.ts";

const MAC_BYTES = 16;

/** A view's token: its fingerprint and position. */
interface ViewTokenBody {
  q: string;
  p: string[];
}

interface TokenBody {
  /** Fingerprint of the filter and order the token was issued for. */
  q: string;
  /** Cursor: timestamp in ns (decimal) and event id of the last event returned. */
  t: string;
  e: string;
}

/**
 * Opaque keyset page tokens: the position of the last event returned, bound to the query that
 * produced it and authenticated with an HMAC, so a token cannot be forged, edited or reused
 * with a different filter.
 */
export class PageTokenCodec {
  /** A KeyObject made once: given raw bytes, createHmac imports the key on every call. */
  readonly #key: KeyObject;

  constructor(key: Uint8Array) {
    this.#key = createSecretKey(key);
  }

  encode(filter: QueryFilter, ascending: boolean, cursor: EventCursor): string {
    return this.#seal({ q: fingerprint(filter, ascending), t: cursor.timestampNs.toString(), e: cursor.eventId });
  }

  /** `field` names the token in errors, e.g. `query.page_token`. */
  decode(token: string, filter: QueryFilter, ascending: boolean, field = "query.page_token"): EventCursor {
    const body = this.#open(token, field, fingerprint(filter, ascending)) as TokenBody;
    return { timestampNs: BigInt(body.t), eventId: body.e };
  }

  /** A token of another list than QueryEvents' (`view`, e.g. "sessions"), its position as strings. */
  encodeView(view: string, filter: QueryFilter, position: readonly string[]): string {
    return this.#seal({ q: fingerprint(filter, false, view), p: [...position] });
  }

  decodeView(view: string, token: string, filter: QueryFilter, field: string): string[] {
    const body = this.#open(token, field, fingerprint(filter, false, view)) as ViewTokenBody;
    if (!Array.isArray(body.p) || !body.p.every((part) => typeof part === "string")) {
      throw invalidToken(field, "is not a token this server issued");
    }
    return body.p;
  }

  #seal(body: TokenBody | ViewTokenBody): string {
    const data = Buffer.from(JSON.stringify(body));
    return `${data.toString("base64url")}.${this.#mac(data).toString("base64url")}`;
  }

  /** The body of a token this server issued for the query of `expected` fingerprint. */
  #open(token: string, field: string, expected: string): { q: string } {
    // Node decodes base64url leniently; a part that does not re-encode to itself was edited.
    const parts = token.split(".");
    const [data, mac, rest] = parts.map((part) => Buffer.from(part, "base64url"));
    const canonical = parts.every((part, i) => [data, mac][i]?.toString("base64url") === part);
    if (!canonical || !data || !mac || rest || mac.length !== MAC_BYTES || !timingSafeEqual(mac, this.#mac(data))) {
      throw invalidToken(field, "is not a token this server issued");
    }
    const body = JSON.parse(data.toString()) as { q: string };
    if (body.q !== expected) {
      throw invalidToken(field, "was issued for a different filter or order");
    }
    return body;
  }

  #mac(data: Uint8Array): Buffer {
    return createHmac("sha256", this.#key).update(data).digest().subarray(0, MAC_BYTES);
  }
}

/** The query a token is bound to; `view` is "" for QueryEvents, whose tokens predate views. */
function fingerprint(filter: QueryFilter, ascending: boolean, view = ""): string {
  return createHash("sha256")
    .update(toBinary(QueryFilterSchema, filter))
    .update(ascending ? "asc" : "desc")
    .update(view)
    .digest("base64url")
    .slice(0, 22);
}

function invalidToken(field: string, description: string): InvalidArgumentError {
  return new InvalidArgumentError([{ field, description }]);
}
