import type { HandlerContext } from "@connectrpc/connect";
import type { QueryResponse } from "../../../gen/chaukas/spec/common/v1/query_pb.ts";
import { decodedQueryResponse, type EventPage, encodedQueryResponse } from "../../core/event-page.ts";

/**
 * The codecs that answer in protobuf binary: gRPC and gRPC-Web (`+proto` or no suffix) and
 * Connect (`application/proto`, `application/connect+proto`). Anything else is answered decoded.
 */
const BINARY_CONTENT_TYPE = /^application\/(?:grpc(?:-web)?(?:\+proto)?|proto|connect\+proto)\s*(?:;|$)/i;

/** A query page for this call's answer: stored bytes as they are for binary codecs, decoded for JSON. */
export function queryResponseFor(ctx: HandlerContext, page: EventPage): QueryResponse {
  const binary = BINARY_CONTENT_TYPE.test(ctx.requestHeader.get("content-type") ?? "");
  return binary ? encodedQueryResponse(page) : decodedQueryResponse(page);
}
