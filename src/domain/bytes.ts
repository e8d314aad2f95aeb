/** `bytes` as a Buffer over the same memory: for Buffer's methods, and what node-postgres sends as bytea. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
