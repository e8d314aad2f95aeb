import { create } from "@bufbuild/protobuf";
import { type QueryResponse, QueryResponseSchema } from "../../gen/chaukas/spec/common/v1/query_pb.ts";
import { lengthDelimitedTag, varintBytes, writeVarint } from "../codec/varint.ts";
import type { StoredEvent } from "../store/event-store.ts";
import { storedEventForJson, storedEventLength, writeStoredEvent } from "./event-record.ts";

/** One page of a query: the stored events, in order, and the token of the next page ("" if last). */
export interface EventPage {
  events: StoredEvent[];
  nextPageToken: string;
}

/** The page as a QueryResponse with every event decoded: for JSON answers. */
export function decodedQueryResponse(page: EventPage): QueryResponse {
  return create(QueryResponseSchema, {
    events: page.events.map(storedEventForJson),
    nextPageToken: page.nextPageToken,
  });
}

/** A message's protobuf binary encoding, sized first: its caller writes it once, where it wants it. */
export interface SizedEncoding {
  byteLength: number;
  /** Writes the byteLength bytes at `at` of `into`; returns the offset after them. */
  writeInto(into: Buffer, at: number): number;
}

const EVENTS_TAG = lengthDelimitedTag(QueryResponseSchema.field.events.number);
const TOKEN_TAG = lengthDelimitedTag(QueryResponseSchema.field.nextPageToken.number);

/**
 * The page as a QueryResponse in protobuf binary, for binary answers: the bytes toBinary gives for
 * decodedQueryResponse, made without decoding a payload (ADR 0007).
 */
export function queryResponseEncoding(page: EventPage): SizedEncoding {
  const lengths = page.events.map(storedEventLength);
  const tokenLength = Buffer.byteLength(page.nextPageToken);
  let byteLength = tokenLength === 0 ? 0 : varintBytes(TOKEN_TAG) + varintBytes(tokenLength) + tokenLength;
  for (const length of lengths) byteLength += varintBytes(EVENTS_TAG) + varintBytes(length) + length;
  return {
    byteLength,
    writeInto(into, start) {
      let at = start;
      page.events.forEach((event, i) => {
        at = writeVarint(into, at, EVENTS_TAG);
        at = writeStoredEvent(into, writeVarint(into, at, lengths[i]), event);
      });
      if (tokenLength > 0) {
        at = writeVarint(into, writeVarint(into, at, TOKEN_TAG), tokenLength);
        at += into.write(page.nextPageToken, at);
      }
      // Callers write into allocUnsafe's uncleared bytes: not one of them may go out unwritten.
      if (at - start !== byteLength)
        throw new Error(`a query page was sized at ${byteLength} bytes and written as ${at - start}`);
      return at;
    },
  };
}
