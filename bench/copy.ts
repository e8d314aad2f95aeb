import { finished } from "node:stream/promises";
import type pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import type { EventRecord } from "../src/store/event-store.ts";

/**
 * PostgreSQL's binary COPY format for EventRecords (the server's own mapping, domain/event-record.ts),
 * and the ways the bench writes them with COPY:
 *
 * - `staged`: COPY into a temporary table holding the record as the server sends it (search text,
 *   not yet a tsvector), then one statement that adds the ids to the target's id table, skipping
 *   duplicates (ON CONFLICT DO NOTHING), and inserts the rows of the ids it added, computing
 *   to_tsvector('simple', ...), exactly as the server's INSERT does. This is the physical limit for this schema: the database does every bit
 *   of work it does for the server (tsvector, heap, WAL, every index, uniqueness), and nothing of
 *   the server's own (HTTP, protobuf decoding, validation, one statement per request).
 * - `queued`: `staged`, each row also carrying its content hash, and each stored event queued
 *   for the integrator (stats rollups and audit log), as the server queues it (the query corpus).
 * - `raw`: COPY straight into the target with an empty tsvector and no duplicate check. Not a
 *   like-for-like figure: it shows what full-text indexing and ON CONFLICT cost.
 */

const SIGNATURE = Buffer.from("PGCOPY\n\xff\r\n\0", "latin1");
const TEXT_OID = 25;

/** How a chunk is written (see above). */
export type CopyMode = "staged" | "queued" | "raw";

/** The staging table's columns, in COPY order; content_hash and the usage figures (QUEUED_ONLY, last) only in `queued` mode. */
const STAGED_COLUMNS = [
  ["tenant_id", "text"],
  ["event_id", "text"],
  ["project_id", "text"],
  ["session_id", "text"],
  ["trace_id", "text"],
  ["span_id", "text"],
  ["agent_id", "text"],
  ["type", "int2"],
  ["status", "int2"],
  ["severity", "int2"],
  ["ts_ns", "int8"],
  ["tags", "text[]"],
  ["search_text", "text"],
  ["payload", "bytea"],
  ["content_hash", "bytea"],
  ["agent", "text"],
  ["model", "text"],
  ["input_tokens", "int8"],
  ["output_tokens", "int8"],
  ["total_tokens", "int8"],
  ["cost", "float8"],
];
const QUEUED_ONLY = 7;

/** Grows a buffer as rows are appended. */
class Writer {
  #buf = Buffer.allocUnsafe(1 << 20);
  #pos = 0;

  #room(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#pos + n));
    this.#buf.copy(next, 0, 0, this.#pos);
    this.#buf = next;
  }

  int16(v: number): void {
    this.#room(2);
    this.#pos = this.#buf.writeInt16BE(v, this.#pos);
  }

  int32(v: number): void {
    this.#room(4);
    this.#pos = this.#buf.writeInt32BE(v, this.#pos);
  }

  bytes(b: Uint8Array): void {
    this.#room(b.length);
    this.#buf.set(b, this.#pos);
    this.#pos += b.length;
  }

  /** A field: its length, then its bytes. */
  field(b: Uint8Array): void {
    this.int32(b.length);
    this.bytes(b);
  }

  text(s: string): void {
    const n = Buffer.byteLength(s);
    this.#room(4 + n);
    this.#pos = this.#buf.writeInt32BE(n, this.#pos);
    this.#pos += this.#buf.write(s, this.#pos);
  }

  textOrNull(s: string): void {
    if (s === "") this.int32(-1);
    else this.text(s);
  }

  int16Field(v: number): void {
    this.int32(2);
    this.int16(v);
  }

  int64Field(v: bigint): void {
    this.#room(12);
    this.#pos = this.#buf.writeInt32BE(8, this.#pos);
    this.#pos = this.#buf.writeBigInt64BE(v, this.#pos);
  }

  float64Field(v: number): void {
    this.#room(12);
    this.#pos = this.#buf.writeInt32BE(8, this.#pos);
    this.#pos = this.#buf.writeDoubleBE(v, this.#pos);
  }

  textArray(items: readonly string[]): void {
    const encoded = items.map((s) => Buffer.from(s));
    const size = 12 + (items.length ? 8 : 0) + encoded.reduce((n, b) => n + 4 + b.length, 0);
    this.int32(size);
    this.int32(items.length ? 1 : 0); // dimensions
    this.int32(0); // no NULLs
    this.int32(TEXT_OID);
    if (items.length) {
      this.int32(items.length);
      this.int32(1); // lower bound
    }
    for (const b of encoded) this.field(b);
  }

  finish(): Buffer {
    return this.#buf.subarray(0, this.#pos);
  }
}

/** The staging columns a chunk of `mode` carries (the content hash only to be queued). */
function stagedColumns(mode: "staged" | "queued") {
  return mode === "queued" ? STAGED_COLUMNS : STAGED_COLUMNS.slice(0, -QUEUED_ONLY);
}

/** One COPY's data: header, rows, trailer. */
export function encodeCopy(records: readonly EventRecord[], mode: CopyMode): Buffer {
  const w = new Writer();
  w.bytes(SIGNATURE);
  w.int32(0); // flags
  w.int32(0); // header extension length
  for (const r of records) {
    // A raw row has a staged row's fields, with the tsvector in the search text's place.
    w.int16(stagedColumns(mode === "raw" ? "staged" : mode).length);
    w.text(r.tenantId);
    w.text(r.eventId);
    w.text(r.projectId);
    w.text(r.sessionId);
    if (mode !== "raw") {
      // As the server sends them: empty ids become NULL in the INSERT ... SELECT (NULLIF).
      w.text(r.traceId);
      w.text(r.spanId);
      w.text(r.agentId);
    } else {
      w.textOrNull(r.traceId);
      w.textOrNull(r.spanId);
      w.textOrNull(r.agentId);
    }
    w.int16Field(r.type);
    w.int16Field(r.status);
    w.int16Field(r.severity);
    w.int64Field(r.timestampNs);
    w.textArray(r.tags);
    if (mode !== "raw") {
      w.text(r.searchText.replaceAll("\0", " "));
    } else {
      w.int32(4);
      w.int32(0); // an empty tsvector: no lexemes
    }
    w.field(r.payload);
    if (mode === "queued") {
      w.field(r.contentHash);
      w.text(r.usage.agent.replaceAll("\0", " "));
      w.text(r.usage.model.replaceAll("\0", " "));
      w.int64Field(BigInt(r.usage.inputTokens));
      w.int64Field(BigInt(r.usage.outputTokens));
      w.int64Field(BigInt(r.usage.totalTokens));
      w.float64Field(r.usage.cost);
    }
  }
  w.int16(-1);
  return w.finish();
}

const TARGET_COLUMNS =
  "tenant_id, event_id, project_id, session_id, trace_id, span_id, agent_id, type, status, severity, ts_ns, tags, search, payload";

/** Where a chunk goes: `events`, or a scratch copy of it, and the table of ids that catches duplicates. */
export interface CopyTarget {
  events: string;
  ids: string;
}

/** Prepares a connection to write COPY data into a CopyTarget. */
export async function prepareCopyConnection(client: pg.Client | pg.PoolClient): Promise<void> {
  // The bench connects as a superuser (it creates databases and forces checkpoints), which
  // row-level security does not apply to: COPY writes into `events` as it is.
  // Local buffers for the staging table, so a chunk stays in memory.
  await client.query("SET temp_buffers = '128MB'");
  const columns = STAGED_COLUMNS.map(([name, type]) => `${name} ${type}`).join(", ");
  await client.query(`CREATE TEMP TABLE IF NOT EXISTS staging (${columns}) ON COMMIT DELETE ROWS`);
}

/** Writes one encoded chunk into `target`, in one transaction. */
export async function copyChunk(
  client: pg.Client | pg.PoolClient,
  target: CopyTarget,
  data: Buffer,
  mode: CopyMode,
): Promise<void> {
  if (mode === "raw") {
    await copyInto(client, `COPY ${target.events} (${TARGET_COLUMNS}) FROM STDIN (FORMAT binary)`, data);
    return;
  }
  await client.query("BEGIN");
  try {
    const columns = stagedColumns(mode).map(([name]) => name);
    await copyInto(client, `COPY staging (${columns.join(", ")}) FROM STDIN (FORMAT binary)`, data);
    const store = `WITH new_ids AS (
         INSERT INTO ${target.ids} (tenant_id, event_id, ts_ns) SELECT tenant_id, event_id, ts_ns FROM staging
         ON CONFLICT DO NOTHING RETURNING tenant_id, event_id
       ), stored AS (
         INSERT INTO ${target.events} (${TARGET_COLUMNS})
         SELECT tenant_id, event_id, project_id, session_id, NULLIF(trace_id, ''), NULLIF(span_id, ''),
                NULLIF(agent_id, ''), type, status, severity, ts_ns, tags, to_tsvector('simple', search_text), payload
         FROM staging WHERE (tenant_id COLLATE "C", event_id COLLATE "C") IN (SELECT tenant_id, event_id FROM new_ids)
         RETURNING tenant_id, event_id, project_id, session_id, type, ts_ns)`;
    // Queued as the server queues them, for the integrator to roll up and append to the audit log.
    await client.query(
      mode === "queued"
        ? `${store}
           INSERT INTO ingest_queue (tenant_id, event_id, content_hash, project_id, session_id, type, ts_ns, to_log,
             status, severity, agent, model, input_tokens, output_tokens, total_tokens, cost, in_usage)
           SELECT s.tenant_id, s.event_id, st.content_hash, s.project_id, s.session_id, s.type, s.ts_ns, true,
                  st.status, st.severity, st.agent, st.model, st.input_tokens, st.output_tokens, st.total_tokens, st.cost, true
           FROM stored s JOIN staging st ON st.tenant_id COLLATE "C" = s.tenant_id AND st.event_id COLLATE "C" = s.event_id`
        : `${store} SELECT count(*) FROM stored`,
    );
    await client.query("COMMIT");
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  }
}

async function copyInto(client: pg.Client | pg.PoolClient, sql: string, data: Buffer): Promise<void> {
  const stream = client.query(copyFrom(sql));
  stream.end(data);
  await finished(stream);
}
