/**
 * Answers written in protobuf binary when they were made, kept beside their message with
 * PREFIX_BYTES free in front (ADR 0031). direct-unary.ts sends these bytes, a gRPC message's prefix
 * written into that room, instead of serializing the message and copying it into an envelope. The
 * message itself encodes to the same bytes, for the answers connect-node writes.
 */
const encodings = new WeakMap<object, Uint8Array>();

/** Keeps `framed` (PREFIX_BYTES free, then the message's encoding) as the encoding of `message`. */
export function withEncoding<T extends object>(message: T, framed: Uint8Array): T {
  encodings.set(message, framed);
  return message;
}

/** The message's encoding kept by withEncoding, its prefix room first; undefined if none was. */
export function framedEncodingOf(message: object): Uint8Array | undefined {
  return encodings.get(message);
}
