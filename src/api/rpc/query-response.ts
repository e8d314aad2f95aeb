import type { HandlerContext } from "@connectrpc/connect";
import type { QueryResponse } from "../../../gen/chaukas/spec/common/v1/query_pb.ts";
import { decodedQueryResponse, type EventPage, encodedQueryResponse } from "../../core/event-page.ts";
import { isBinaryBody } from "./binary-rpc.ts";

/** A query page for this call's answer: stored bytes as they are for binary codecs, decoded for JSON. */
export function queryResponseFor(ctx: HandlerContext, page: EventPage): QueryResponse {
  return isBinaryBody(ctx.requestHeader.get("content-type") ?? undefined)
    ? encodedQueryResponse(page)
    : decodedQueryResponse(page);
}
