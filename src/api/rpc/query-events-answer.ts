import { create, type MessageShape } from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";
import type { HandlerContext } from "@connectrpc/connect";
import type { QueryEventsResponseSchema as ClientAnswerSchema } from "../../../gen/chaukas/spec/client/v1/client_pb.ts";
import type { QueryEventsResponseSchema as ServerAnswerSchema } from "../../../gen/chaukas/spec/server/v1/server_pb.ts";
import { lengthDelimitedTag, varintBytes, writeVarint } from "../../codec/varint.ts";
import { decodedQueryResponse, type EventPage, queryResponseEncoding } from "../../core/event-page.ts";
import { isBinaryBody } from "./binary-rpc.ts";
import { PREFIX_BYTES, writeUncompressedPrefix } from "./envelope-flags.ts";
import { withGrpcMessage } from "./grpc-message-answers.ts";

/** Either spec service's QueryEvents answer: the same fields, a QueryResponse in `response`. */
type QueryEventsAnswerSchema = typeof ServerAnswerSchema | typeof ClientAnswerSchema;

/**
 * A QueryEvents answer of `answerSchema` for this call: decoded for JSON; for binary codecs, the
 * stored bytes as they are, written once as the gRPC message the direct path sends
 * (grpc-message-answers.ts). The message carries its field as one raw protobuf record (its length,
 * then the QueryResponse), which protobuf-es writes as it is, so connect-node's answers hold the
 * same bytes; it reads as empty (JSON would drop its content), so only a binary answer may carry it.
 */
export function queryEventsAnswer(
  answerSchema: QueryEventsAnswerSchema,
  ctx: HandlerContext,
  page: EventPage,
): MessageShape<QueryEventsAnswerSchema> {
  if (!isBinaryBody(ctx.requestHeader.get("content-type") ?? undefined)) {
    return create(answerSchema, { response: decodedQueryResponse(page) });
  }
  const field = answerSchema.field.response;
  const response = queryResponseEncoding(page);
  const tag = lengthDelimitedTag(field.number);
  const messageLength = varintBytes(tag) + varintBytes(response.byteLength) + response.byteLength;
  const grpcMessage = Buffer.allocUnsafe(PREFIX_BYTES + messageLength);
  writeUncompressedPrefix(grpcMessage, messageLength);
  const lengthAt = writeVarint(grpcMessage, PREFIX_BYTES, tag);
  // allocUnsafe's bytes are not cleared: not one of them may go out unwritten.
  if (response.writeInto(grpcMessage, writeVarint(grpcMessage, lengthAt, response.byteLength)) !== grpcMessage.length) {
    throw new Error("a QueryEvents answer was not written to its size");
  }
  const answer = create(answerSchema);
  answer.$unknown = [{ no: field.number, wireType: WireType.LengthDelimited, data: grpcMessage.subarray(lengthAt) }];
  return withGrpcMessage(answer, grpcMessage);
}
