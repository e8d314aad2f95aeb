import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { toBinary } from "@bufbuild/protobuf";
import { type QueryFilter, QueryFilterSchema } from "../../gen/chaukas/spec/common/v1/query_pb.ts";
import { InvalidArgumentError } from "../lib/errors.ts";
import type { EventCursor } from "../store/event-store.ts";

const MAC_BYTES = 16;

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
  readonly #key: Uint8Array;

  constructor(key: Uint8Array) {
    this.#key = key;
  }

  encode(filter: QueryFilter, ascending: boolean, cursor: EventCursor): string {
    const body: TokenBody = { q: fingerprint(filter, ascending), t: cursor.timestampNs.toString(), e: cursor.eventId };
    const data = Buffer.from(JSON.stringify(body));
    return `${data.toString("base64url")}.${this.#mac(data).toString("base64url")}`;
  }

  /** `field` names the token in errors, e.g. `query.page_token`. */
  decode(token: string, filter: QueryFilter, ascending: boolean, field = "query.page_token"): EventCursor {
    // Node decodes base64url leniently; a part that does not re-encode to itself was edited.
    const parts = token.split(".");
    const [data, mac, rest] = parts.map((part) => Buffer.from(part, "base64url"));
    const canonical = parts.every((part, i) => [data, mac][i]?.toString("base64url") === part);
    if (!canonical || !data || !mac || rest || mac.length !== MAC_BYTES || !timingSafeEqual(mac, this.#mac(data))) {
      throw invalidToken(field, "is not a token this server issued");
    }
    const body = JSON.parse(data.toString()) as TokenBody;
    if (body.q !== fingerprint(filter, ascending)) {
      throw invalidToken(field, "was issued for a different filter or order");
    }
    return { timestampNs: BigInt(body.t), eventId: body.e };
  }

  #mac(data: Uint8Array): Buffer {
    return createHmac("sha256", this.#key).update(data).digest().subarray(0, MAC_BYTES);
  }
}

function fingerprint(filter: QueryFilter, ascending: boolean): string {
  return createHash("sha256")
    .update(toBinary(QueryFilterSchema, filter))
    .update(ascending ? "asc" : "desc")
    .digest("base64url")
    .slice(0, 22);
}

function invalidToken(field: string, description: string): InvalidArgumentError {
  return new InvalidArgumentError([{ field, description }]);
}
