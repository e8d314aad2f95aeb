import { hash } from "node:crypto";

/** `bytes` as a Buffer over the same memory: for Buffer's methods, and what node-postgres sends as bytea. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * SHA-256 of `data`, in one call: for inputs of a few hundred bytes, creating a Hash object
 * costs more than the hashing itself.
 */
export function sha256(data: Uint8Array | string): Buffer {
  return hash("sha256", data, "buffer");
}
