import zlib from "node:zlib";

/** Node.js documents reset() for every deflate stream, gzip's too; @types/node leaves it off Gzip. */
type GzipStream = zlib.Gzip & zlib.ZlibReset;

/**
 * gzip on zlib streams kept and reset between calls, at most `kept` of them idle; more are made
 * while more calls compress at once. zlib.gzip makes and frees a deflate state of about 270 KB
 * per call, which V8 counts as external memory.
 */
export class GzipStreams {
  readonly #idle: GzipStream[] = [];
  readonly #options: zlib.ZlibOptions;
  readonly #kept: number;

  constructor(options: zlib.ZlibOptions, kept: number) {
    this.#options = options;
    this.#kept = kept;
  }

  /** One complete gzip member of `bytes`. */
  async compress(bytes: Uint8Array): Promise<Buffer> {
    const stream = this.#idle.pop() ?? this.#newStream();
    let compressed: Buffer;
    try {
      compressed = await gzipThrough(stream, bytes);
      stream.reset();
    } catch (err) {
      stream.destroy();
      throw err;
    }
    if (this.#idle.length < this.#kept) this.#idle.push(stream);
    else stream.close();
    return compressed;
  }

  #newStream(): GzipStream {
    const stream = zlib.createGzip(this.#options) as GzipStream;
    // A failing stream rejects its call (gzipThrough) and is destroyed; this keeps the error an
    // idle stream might still emit from being an uncaught one.
    stream.on("error", () => {});
    return stream;
  }
}

/** Writes `bytes`, then finishes the member with Z_FINISH, which leaves the stream open for a reset. */
function gzipThrough(stream: GzipStream, bytes: Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const onData = (chunk: Buffer) => chunks.push(chunk);
    const onError = (err: Error) => {
      stream.off("data", onData);
      reject(err);
    };
    stream.on("data", onData);
    stream.once("error", onError);
    stream.write(bytes);
    // zlib pushes its output, which onData reads, before it calls back.
    stream.flush(zlib.constants.Z_FINISH, (err?: Error | null) => {
      stream.off("data", onData);
      stream.off("error", onError);
      if (err) reject(err);
      else resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
    });
  });
}
