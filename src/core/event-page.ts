import { create, type DescField } from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";
import { type QueryResponse, QueryResponseSchema } from "../../gen/chaukas/spec/common/v1/query_pb.ts";
import { varintBytes, writeVarint } from "../codec/varint.ts";
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

/**
 * The page as a QueryResponse whose fields travel as raw protobuf records, which protobuf-es
 * writes as they are: for binary answers only, where it encodes to the same bytes as
 * decodedQueryResponse without decoding a payload. The message reads as empty (JSON would drop
 * its content), so nothing else may use it.
 */
export function encodedQueryResponse(page: EventPage): QueryResponse {
  // Every record is written once, into one buffer of the page's exact size; each unknown field
  // (number, wire type, then length and bytes, as protobuf-es keeps it) is a view of its part.
  const lengths = page.events.map(storedEventLength);
  const tokenLength = Buffer.byteLength(page.nextPageToken);
  let size = tokenLength === 0 ? 0 : varintBytes(tokenLength) + tokenLength;
  for (const length of lengths) size += varintBytes(length) + length;
  const bytes = Buffer.allocUnsafe(size);
  let at = 0;
  const record = (field: DescField, start: number) => ({
    no: field.number,
    wireType: WireType.LengthDelimited,
    data: bytes.subarray(start, at),
  });
  const response = create(QueryResponseSchema);
  response.$unknown = page.events.map((event, i) => {
    const start = at;
    at = writeStoredEvent(bytes, writeVarint(bytes, at, lengths[i]), event);
    return record(QueryResponseSchema.field.events, start);
  });
  if (tokenLength > 0) {
    const start = at;
    at = writeVarint(bytes, at, tokenLength);
    at += bytes.write(page.nextPageToken, at);
    response.$unknown.push(record(QueryResponseSchema.field.nextPageToken, start));
  }
  // allocUnsafe's bytes are not cleared: not one of them may go out unwritten.
  if (at !== size) throw new Error(`a query page was sized at ${size} bytes and written as ${at}`);
  return response;
}
