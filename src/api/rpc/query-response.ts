import { create, type MessageShape } from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";
import type { HandlerContext } from "@connectrpc/connect";
import type { QueryEventsResponseSchema as ClientAnswerSchema } from "../../../gen/chaukas/spec/client/v1/client_pb.ts";
import type { QueryEventsResponseSchema as ServerAnswerSchema } from "../../../gen/chaukas/spec/server/v1/server_pb.ts";
import { varintBytes, writeVarint } from "../../codec/varint.ts";
import { decodedQueryResponse, type EventPage, queryResponseEncoding } from "../../core/event-page.ts";
import { isBinaryBody } from "./binary-rpc.ts";
import { withEncoding } from "./encoded-answers.ts";
import { PREFIX_BYTES } from "./envelope-flags.ts";

/** Either spec service's QueryEvents answer: the same fields, a QueryResponse in `response`. */
type QueryEventsAnswerSchema = typeof ServerAnswerSchema | typeof ClientAnswerSchema;

/**
 * A QueryEvents answer of `output` for this call: decoded for JSON; for binary codecs, the stored
 * bytes as they are, written once with room for a gRPC prefix (encoded-answers.ts). Its field then
 * travels as one raw protobuf record (its length, then the QueryResponse), which protobuf-es writes
 * as it is: the message reads as empty (JSON would drop its content), so only a binary answer may
 * carry it.
 */
export function queryEventsAnswer(
  output: QueryEventsAnswerSchema,
  ctx: HandlerContext,
  page: EventPage,
): MessageShape<QueryEventsAnswerSchema> {
  if (!isBinaryBody(ctx.requestHeader.get("content-type") ?? undefined)) {
    return create(output, { response: decodedQueryResponse(page) });
  }
  const field = output.field.response;
  const response = queryResponseEncoding(page);
  const tag = (field.number << 3) | WireType.LengthDelimited;
  const framed = Buffer.allocUnsafe(
    PREFIX_BYTES + varintBytes(tag) + varintBytes(response.byteLength) + response.byteLength,
  );
  const lengthAt = writeVarint(framed, PREFIX_BYTES, tag);
  response.writeInto(framed, writeVarint(framed, lengthAt, response.byteLength));
  const answer = create(output);
  answer.$unknown = [{ no: field.number, wireType: WireType.LengthDelimited, data: framed.subarray(lengthAt) }];
  return withEncoding(answer, framed);
}
