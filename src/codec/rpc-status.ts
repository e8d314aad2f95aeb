import { BinaryWriter } from "@bufbuild/protobuf/wire";

/**
 * google.rpc.Status and google.rpc.RetryInfo, written by hand: two small, frozen messages
 * (googleapis google/rpc/status.proto, error_details.proto) not worth vendoring their protos for.
 */

/** A google.rpc.Status without details: `code` is a gRPC code. OTLP/HTTP answers failures with it. */
export function rpcStatusBinary(code: number, message: string): Uint8Array {
  return new BinaryWriter().tag(1, 0).int32(code).tag(2, 2).string(message).finish();
}

export const RETRY_INFO_TYPE = "google.rpc.RetryInfo";

/** google.rpc.RetryInfo { retry_delay: Duration { seconds } }: when a client should try again. */
export function retryInfoBinary(seconds: number): Uint8Array {
  const delay = new BinaryWriter().tag(1, 0).int64(seconds).finish();
  return new BinaryWriter().tag(1, 2).bytes(delay).finish();
}
