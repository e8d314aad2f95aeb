import { EventEmitter } from "node:events";
import type { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { serialize } from "pg-protocol";

/**
 * A listener's throw (an "error" no one listens for, as over a socket) surfaces as an uncaught
 * exception, and the queue goes on: a rejected queue would never run another connection's work.
 */
function throwOutsideQueue(err: unknown): void {
  process.nextTick(() => {
    throw err;
  });
}

/** Messages of one connection, to run in one call into PGlite. */
interface Buffered {
  connection: PgliteConnection;
  bytes: Uint8Array[];
}

/**
 * The one backend of a PGlite, shared by every connection to it: their protocol messages run in
 * the order they were written, on one queue. PGlite runs one message buffer at a time and keeps
 * the replies of the buffer in progress in one place, so two buffers must never overlap.
 * A connection's messages written before the queue reaches them go in one buffer, as a socket's
 * writes would.
 */
class SharedBackend {
  readonly #db: PGlite;
  #queue: Promise<void>;
  /** The buffer not yet run, while one connection keeps writing to it. */
  #pending: Buffered | undefined;

  constructor(db: PGlite) {
    this.#db = db;
    this.#queue = db.waitReady;
  }

  /** Settles once every message written so far has run. */
  get idle(): Promise<void> {
    return this.#queue;
  }

  /** Queues `bytes` from `connection`; their replies reach it unless it has ended by then. */
  write(connection: PgliteConnection, bytes: Uint8Array): void {
    const pending = this.#pending;
    if (pending?.connection === connection) {
      pending.bytes.push(bytes);
      return;
    }
    const batch = { connection, bytes: [bytes] };
    this.#pending = batch;
    this.#queue = this.#queue.then(() => this.#run(batch)).catch(throwOutsideQueue);
  }

  async #run(batch: Buffered): Promise<void> {
    if (this.#pending === batch) this.#pending = undefined;
    const message = batch.bytes.length === 1 ? batch.bytes[0] : Buffer.concat(batch.bytes);
    try {
      batch.connection.receive(await this.#db.execProtocolStream(message, { throwOnError: false }));
    } catch (err) {
      batch.connection.fail(err);
    }
  }
}

/**
 * One node-postgres client's connection to an embedded PGlite, in place of a socket to a server.
 * Ending it rolls back its open transaction and forgets its prepared statements, before any later
 * connection's messages run, so a client the pool drops leaves neither to the next. Other session
 * state (a plain SET, session advisory locks) stays in PGlite's one session: the store takes none.
 */
class PgliteConnection extends EventEmitter {
  /** Read and written by node-postgres's client. */
  _connecting = false;
  parsedStatements: Record<string, string> = {};
  submittedNamedStatements: Record<string, string> = {};
  readonly stream = { destroy: () => this.end() };
  readonly #backend: SharedBackend;
  #ended = false;

  constructor(backend: SharedBackend) {
    super();
    this.#backend = backend;
  }

  connect(): void {
    this._connecting = true;
    void this.#backend.idle.then(() =>
      process.nextTick(() => {
        if (!this.#ended) this.emit("readyForQuery");
      }),
    );
  }

  receive(replies: { name: string }[]): void {
    for (const reply of replies) {
      if (this.#ended) return;
      this.emit(reply.name === "error" ? "errorMessage" : reply.name, reply);
    }
  }

  fail(err: unknown): void {
    if (!this.#ended) this.emit("error", err);
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    // Sync first: after an error in an extended query, the backend skips messages until one.
    this.#backend.write(this, serialize.sync());
    this.#backend.write(this, serialize.query("ROLLBACK; DEALLOCATE ALL"));
    void this.#backend.idle.then(() => this.emit("end"));
  }

  query(text: string): void {
    this.#write(serialize.query(text));
  }
  parse(query: Parameters<typeof serialize.parse>[0]): void {
    this.#write(serialize.parse(query));
  }
  bind(config: Parameters<typeof serialize.bind>[0]): void {
    this.#write(serialize.bind(config));
  }
  execute(config: Parameters<typeof serialize.execute>[0]): void {
    this.#write(serialize.execute(config));
  }
  describe(msg: Parameters<typeof serialize.describe>[0]): void {
    this.#write(serialize.describe(msg));
  }
  close(msg: Parameters<typeof serialize.close>[0]): void {
    this.#write(serialize.close(msg));
  }
  flush(): void {
    this.#write(serialize.flush());
  }
  sync(): void {
    this.#write(serialize.sync());
  }
  sendCopyFromChunk(chunk: Buffer): void {
    this.#write(serialize.copyData(chunk));
  }
  endCopyFrom(): void {
    this.#write(serialize.copyDone());
  }
  sendCopyFail(message: string): void {
    this.#write(serialize.copyFail(message));
  }
  /** A server's handshake and socket controls; PGlite has none. */
  requestSsl(): void {}
  startup(): void {}
  cancel(): void {}
  ref(): void {}
  unref(): void {}

  #write(bytes: Uint8Array): void {
    if (!this.#ended) this.#backend.write(this, bytes);
  }
}

/**
 * The node-postgres pool settings for one PGlite: one client at a time (PGlite has one backend),
 * each on a connection of its own that rolls back when it ends (see PgliteConnection).
 * An idle client is kept: it holds no socket, and ending it would forget its prepared statements.
 */
export function embeddedPoolConfig(db: PGlite): pg.PoolConfig {
  const backend = new SharedBackend(db);
  class EmbeddedClient extends pg.Client {
    constructor(config?: pg.ClientConfig) {
      super({ ...config, connection: new PgliteConnection(backend) } as pg.ClientConfig);
    }
  }
  return { max: 1, idleTimeoutMillis: 0, Client: EmbeddedClient };
}
