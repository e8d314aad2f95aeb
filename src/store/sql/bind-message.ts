/** What node-postgres passes to its connection's `bind`: pg-protocol's BindOpts. */
export interface BindConfig {
  portal?: string;
  statement?: string;
  /** Results in binary rather than text. */
  binary?: boolean;
  values?: unknown[];
  /** node-postgres's prepareValue: every value becomes a Buffer, a string, or null. */
  valueMapper?: (value: unknown, index: number) => unknown;
}

const BIND = 0x42;

/** A parameter at least this large is sent from its own Buffer rather than copied into the message. */
export const SENT_IN_PLACE_BYTES = 16 * 1024;

/**
 * The Bind message pg-protocol's serializer writes for `config`, byte for byte, as a list of
 * Buffers: each parameter Buffer of SENT_IN_PLACE_BYTES or more is one of them, not a copy. The
 * serializer copies every parameter into a writer that starts at 256 bytes after each message and
 * grows by half again plus what it needs, so a batch statement's parameters (about 850 KB for 500
 * events, binary-arrays.ts) pass through several new buffers, the largest mapped on their own and
 * faulted in page by page (docs/adr/0037-bind-parameters-sent-in-place.md). A Buffer passed to a
 * query must not change afterwards: node-postgres can settle a statement before all of it is written.
 */
export function bindMessage(config: BindConfig): Buffer[] {
  const portal = config.portal || "";
  const statement = config.statement || "";
  const params = (config.values || []).map((value, i) => {
    const mapped = config.valueMapper ? config.valueMapper(value, i) : value;
    if (mapped === null || mapped === undefined || Buffer.isBuffer(mapped) || typeof mapped === "string") return mapped;
    throw new TypeError(`a parameter node-postgres cannot send: ${typeof mapped} (give it a valueMapper)`);
  });
  const count = params.length;
  // Code and length; the portal's and the statement's names; the parameters' count, formats and
  // count again; after the parameters, the count of result formats and the one format.
  let inlineSize = 5 + Buffer.byteLength(portal) + 1 + Buffer.byteLength(statement) + 1 + 2 + 2 * count + 2 + 4;
  let inPlaceSize = 0;
  for (const param of params) {
    inlineSize += 4;
    if (typeof param === "string") inlineSize += Buffer.byteLength(param);
    else if (param && param.byteLength < SENT_IN_PLACE_BYTES) inlineSize += param.byteLength;
    else if (param) inPlaceSize += param.byteLength;
  }
  const inline = Buffer.allocUnsafe(inlineSize);
  inline[0] = BIND;
  inline.writeInt32BE(inlineSize + inPlaceSize - 1, 1);
  let at = 5;
  at += inline.write(portal, at);
  inline[at++] = 0;
  at += inline.write(statement, at);
  inline[at++] = 0;
  // Unsigned, as PostgreSQL reads the counts (pg-protocol writes their low 16 bits).
  at = inline.writeUInt16BE(count & 0xffff, at);
  for (const param of params) at = inline.writeInt16BE(Buffer.isBuffer(param) ? 1 : 0, at);
  at = inline.writeUInt16BE(count & 0xffff, at);
  const chunks: Buffer[] = [];
  let chunkStart = 0;
  for (const param of params) {
    if (param === null || param === undefined) {
      at = inline.writeInt32BE(-1, at);
    } else if (typeof param === "string") {
      const written = inline.write(param, at + 4);
      inline.writeInt32BE(written, at);
      at += 4 + written;
    } else {
      at = inline.writeInt32BE(param.byteLength, at);
      if (param.byteLength < SENT_IN_PLACE_BYTES) {
        at += param.copy(inline, at);
      } else {
        chunks.push(inline.subarray(chunkStart, at), param);
        chunkStart = at;
      }
    }
  }
  at = inline.writeInt16BE(1, at);
  at = inline.writeInt16BE(config.binary ? 1 : 0, at);
  chunks.push(inline.subarray(chunkStart, at));
  return chunks;
}
