import { create, type DescField } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { type QueryResponse, QueryResponseSchema } from "../../gen/chaukas/spec/common/v1/query_pb.ts";
import type { StoredEvent } from "../store/event-store.ts";
import { storedEventForJson, writeStoredEvent } from "./event-record.ts";

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
  // Each record as protobuf-es keeps an unknown field: number, wire type, then length and bytes.
  // One writer for the page, so its buffer grows once; finish() copies each record out.
  const writer = new BinaryWriter();
  const record = (field: DescField, data: Uint8Array) => ({
    no: field.number,
    wireType: WireType.LengthDelimited,
    data,
  });
  const response = create(QueryResponseSchema);
  response.$unknown = page.events.map((event) =>
    record(QueryResponseSchema.field.events, writeStoredEvent(writer.fork(), event).join().finish()),
  );
  if (page.nextPageToken !== "") {
    response.$unknown.push(record(QueryResponseSchema.field.nextPageToken, writer.string(page.nextPageToken).finish()));
  }
  return response;
}
