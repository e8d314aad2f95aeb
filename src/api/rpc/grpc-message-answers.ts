/**
 * Answers written in protobuf binary when they were made, kept beside their message as one
 * uncompressed gRPC message (ADR 0031): direct-unary.ts sends those bytes (a Connect answer without
 * the 5-byte prefix) instead of serializing the message and copying it into an envelope. The
 * message itself must encode to the same bytes, for the answers connect-node writes, and must not
 * change after it is given them.
 */
const grpcMessages = new WeakMap<object, Uint8Array>();

/** Keeps `grpcMessage` (a gRPC message prefix, then the message's encoding) as the bytes of `message`. */
export function withGrpcMessage<T extends object>(message: T, grpcMessage: Uint8Array): T {
  grpcMessages.set(message, grpcMessage);
  return message;
}

/** The bytes withGrpcMessage kept for the message; undefined if none were. */
export function grpcMessageOf(message: object): Uint8Array | undefined {
  return grpcMessages.get(message);
}
