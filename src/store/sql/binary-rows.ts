import { createRequire } from "node:module";
import type { Duplex } from "node:stream";
import pg from "pg";
import type { BackendMessage, RowDescriptionMessage } from "pg-protocol/dist/messages.js";
import { type BindConfig, bindMessage } from "./bind-message.ts";

/**
 * Query results read field by field, in PostgreSQL's binary format where the connection allows it
 * (docs/adr/0036-query-rows-in-binary.md). node-postgres reads every field of a row as text: a bytea
 * arrives as hex twice its size, is made a string, and is decoded again; for a page of 100 events,
 * about 200 KB of strings that die at once (ADR 0028 measured 204 KB). queryRows asks for binary
 * results and reads each row's bytes itself; its decoder makes only the values it returns.
 */

const ROW_DESCRIPTION = 0x54;
const DATA_ROW = 0x44;

/** A DataRow of a binary result as BinaryRowsParser hands it on: the row's bytes, unread. */
interface BinaryDataRow {
  name: "dataRow";
  fields: Buffer;
}

type Message = BackendMessage | BinaryDataRow;

interface ParserWithHandlePacket {
  parse(buffer: Buffer, callback: (message: Message) => void): void;
  handlePacket(offset: number, code: number, length: number, bytes: Buffer): Message;
}

/**
 * The pg-protocol parser node-postgres itself uses (a copy nested under pg, should npm keep one
 * there), with its message maker in view: `handlePacket` is declared private, and it is the one
 * place a message is made from its bytes; the parser has no other hook for a DataRow's fields.
 */
const Parser = (() => {
  const fromPg = createRequire(createRequire(import.meta.url).resolve("pg"));
  const parser = fromPg("pg-protocol/dist/parser.js").Parser as new () => ParserWithHandlePacket;
  if (typeof parser.prototype.handlePacket !== "function") {
    throw new Error("pg-protocol's Parser has no handlePacket: binary-rows.ts needs updating for this version");
  }
  return parser;
})();

/**
 * pg-protocol's parser, but a DataRow of a result whose columns are binary is handed on as the row's
 * bytes (a view: valid only while the message is handled, which node-postgres does at once). Its own
 * reads every field as UTF-8 text, which mangles binary values. Results in text are parsed as before.
 */
class BinaryRowsParser extends Parser {
  #binaryResult = false;

  override handlePacket(offset: number, code: number, length: number, bytes: Buffer): Message {
    // The message's length counts its own four bytes; `offset` is past them.
    if (code === DATA_ROW && this.#binaryResult)
      return { name: "dataRow", fields: bytes.subarray(offset, offset + length - 4) };
    const message = super.handlePacket(offset, code, length, bytes);
    if (code === ROW_DESCRIPTION) {
      this.#binaryResult = (message as RowDescriptionMessage).fields.some((field) => field.format === "binary");
    }
    return message;
  }
}

interface ConnectionInternals {
  attachListeners(stream: Duplex): void;
  bind(config: BindConfig): void;
  _send(buffer: Buffer): boolean;
  emit(event: string, message: Message): boolean;
  _emitMessage: boolean;
}

/** The methods of node-postgres's Connection (pg 8.23) that BinaryRowsClient replaces or calls. */
for (const method of ["attachListeners", "bind", "_send"]) {
  if (typeof (pg.Connection.prototype as unknown as Record<string, unknown>)[method] !== "function") {
    throw new Error(`node-postgres's Connection has no ${method}: binary-rows.ts needs updating for this version`);
  }
}

/**
 * The node-postgres Client of a PostgreSQL server's pools: its connection parses with
 * BinaryRowsParser, so queryRows can ask it for binary results. Its attachListeners does what
 * node-postgres's Connection.attachListeners does (pg 8.23), with that parser; the connection calls
 * it on connect, or on the TLS stream after an SSL upgrade. Only queryRows may ask these clients for
 * binary results: node-postgres's own result would take a row's bytes for its fields' text. Its
 * connection's bind writes bindMessage's Buffers, which send a large parameter from its own Buffer.
 */
export class BinaryRowsClient extends pg.Client {
  constructor(config?: string | pg.ClientConfig) {
    super(config);
    const connection = this.connection as unknown as ConnectionInternals;
    connection.attachListeners = (stream) => {
      const parser = new BinaryRowsParser();
      stream.on("data", (buffer: Buffer) =>
        parser.parse(buffer, (message) => {
          if (connection._emitMessage) connection.emit("message", message);
          connection.emit(message.name === "error" ? "errorMessage" : message.name, message);
        }),
      );
    };
    connection.bind = (config) => {
      for (const chunk of bindMessage(config)) connection._send(chunk);
    };
  }
}

/** One row's fields, read in order. Reading a NULL field as a value throws. */
export interface RowFields {
  /** Whether the next field is NULL; if so, it is passed. */
  nextIsNull(): boolean;
  text(): string;
  int8(): bigint;
  /** A buffer of the caller's own. */
  bytea(): Buffer;
}

const NO_BYTES: Buffer = Buffer.alloc(0);

/** A binary result's row: the field count, then each field's length (-1: NULL) and bytes. */
class BinaryRowFields implements RowFields {
  #bytes = NO_BYTES;
  #at = 0;

  reset(bytes: Buffer): this {
    this.#bytes = bytes;
    this.#at = 2;
    return this;
  }

  nextIsNull(): boolean {
    if (this.#bytes.readInt32BE(this.#at) !== -1) return false;
    this.#at += 4;
    return true;
  }

  text(): string {
    const start = this.#field();
    return this.#bytes.toString("utf8", start, this.#at);
  }

  int8(): bigint {
    const start = this.#field();
    if (this.#at - start !== 8) throw new Error(`an int8 field of ${this.#at - start} bytes`);
    return this.#bytes.readBigInt64BE(start);
  }

  bytea(): Buffer {
    const start = this.#field();
    const copy = Buffer.allocUnsafe(this.#at - start);
    this.#bytes.copy(copy, 0, start, this.#at);
    return copy;
  }

  /** Passes the next field; returns where its bytes start (they end at #at). */
  #field(): number {
    const length = this.#bytes.readInt32BE(this.#at);
    if (length < 0) throw new Error("a NULL field read as a value");
    const start = this.#at + 4;
    this.#at = start + length;
    return start;
  }
}

const parseByteaText = pg.types.getTypeParser(pg.types.builtins.BYTEA) as (text: string) => Buffer;

/** A text result's row as node-postgres parsed it: each field's text, or null. */
class TextRowFields implements RowFields {
  #fields: (string | null)[] = [];
  #next = 0;

  reset(fields: (string | null)[]): this {
    this.#fields = fields;
    this.#next = 0;
    return this;
  }

  nextIsNull(): boolean {
    if (this.#fields[this.#next] !== null) return false;
    this.#next++;
    return true;
  }

  text(): string {
    return this.#field();
  }

  int8(): bigint {
    return BigInt(this.#field());
  }

  bytea(): Buffer {
    return parseByteaText(this.#field());
  }

  #field(): string {
    const field = this.#fields[this.#next++];
    if (field === null || field === undefined) throw new Error("a NULL field read as a value");
    return field;
  }
}

/**
 * Runs a statement on `client` and settles with its rows, each made by `decode` from its fields as
 * they arrive: in PostgreSQL's binary format on a BinaryRowsClient, and from node-postgres's text
 * elsewhere (PGlite, which parses with its own copy of pg-protocol). A row `decode` refuses fails
 * the statement with its error. On a pipelining client the statement is written before this
 * returns, so it joins the write under way. With a `name`, it is a named statement: parsed once per
 * connection.
 */
export function queryRows<T>(
  client: pg.ClientBase,
  text: string,
  values: unknown[],
  decode: (row: RowFields) => T,
  name?: string,
): Promise<T[]> {
  const query = new RowsQuery(client instanceof BinaryRowsClient, { name, text, values }, decode);
  client.query(query);
  return query.done;
}

/** A statement whose rows are decoded as they arrive (queryRows). */
class RowsQuery<T> extends pg.Query {
  readonly done: Promise<T[]>;
  readonly #rows: T[] = [];
  readonly #decode: (row: RowFields) => T;
  readonly #binaryFields = new BinaryRowFields();
  readonly #textFields = new TextRowFields();
  #failure: Error | undefined;

  constructor(
    binary: boolean,
    statement: { name?: string; text: string; values: unknown[] },
    decode: (row: RowFields) => T,
  ) {
    let settle: (err: Error | null | undefined) => void = () => {};
    // node-postgres asks for every column in binary when `binary` is set (its types do not say so),
    // and only in the extended protocol, which it would not use for a statement without values.
    const config: pg.QueryConfig & { binary: boolean; queryMode: "extended" } = {
      ...statement,
      binary,
      queryMode: "extended",
    };
    super(config, undefined, (err: Error | undefined) => settle(err));
    this.#decode = decode;
    this.done = new Promise((resolve, reject) => {
      settle = (err) => (err ? reject(err) : resolve(this.#rows));
    });
  }

  /** The columns are read by `decode`, not described to node-postgres's result. */
  handleRowDescription(): void {}

  handleDataRow(message: { fields: Buffer | (string | null)[] }): void {
    if (this.#failure) return;
    const { fields } = message;
    try {
      const row = Buffer.isBuffer(fields) ? this.#binaryFields.reset(fields) : this.#textFields.reset(fields);
      this.#rows.push(this.#decode(row));
    } catch (err) {
      this.#failure = err instanceof Error ? err : new Error(String(err));
    } finally {
      // The row's bytes are the parser's: not held past the message.
      this.#binaryFields.reset(NO_BYTES);
    }
  }

  handleReadyForQuery(connection: pg.Connection): void {
    if (this.#failure) this.handleError(this.#failure, connection);
    else super.handleReadyForQuery(connection);
  }
}

// What node-postgres's Query does with the messages of its statement; its types do not list them.
declare module "pg" {
  interface Query {
    handleError(err: Error, connection: import("pg").Connection): void;
    handleReadyForQuery(connection: import("pg").Connection): void;
  }
}
