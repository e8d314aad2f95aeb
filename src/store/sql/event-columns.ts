import type pg from "pg";
import { INDEXED_ENUMS, INDEXED_IDS, isOptionalId, protoName } from "../../codec/event-fields.ts";
import type { ColumnDifference, EventRecord } from "../event-store.ts";
import { BinaryArrays } from "./binary-arrays.ts";

/**
 * The columns of `events` that queries find events by, and how they are made from a record: one
 * definition for the insert that writes them and for the check that they still hold what the
 * payload gives (`chaukas verify`).
 */

const ID_COLUMNS = INDEXED_IDS.map(protoName);
const ENUM_COLUMNS = INDEXED_ENUMS.map(protoName);

/** The index columns, in the order of RECORD_PARAMETERS and INDEX_VALUES. */
export const INDEX_COLUMNS: readonly string[] = [...ID_COLUMNS, ...ENUM_COLUMNS, "ts_ns", "tags", "search"];

/** The fields of a record row, in the order of addRecordArrays. */
export const RECORD_FIELDS = [...ID_COLUMNS, ...ENUM_COLUMNS, "ts_ns", "tags", "search_text"].join(", ");

const RECORD_TYPES = [...ID_COLUMNS.map(() => "text"), ...ENUM_COLUMNS.map(() => "int2"), "int8", "text", "text"];

/** unnest() over parameters $1..$13 (addRecordArrays) gives one row per record with the fields RECORD_FIELDS. */
export const RECORD_PARAMETERS = RECORD_TYPES.map((type, i) => `$${i + 1}::${type}[]`).join(", ");

/** The index columns' values from a row of RECORD_FIELDS. */
export const INDEX_VALUES = [
  ...ID_COLUMNS.map((column, i) => (isOptionalId(INDEXED_IDS[i]) ? `NULLIF(${column}, '') AS ${column}` : column)),
  ...ENUM_COLUMNS,
  "ts_ns",
  "ARRAY(SELECT jsonb_array_elements_text(tags::jsonb)) AS tags",
  "to_tsvector('simple', search_text) AS search",
].join(", ");

/** Adds the arrays of parameters $1..$13, one per field of RECORD_FIELDS. */
export function addRecordArrays(arrays: BinaryArrays, records: readonly EventRecord[]): BinaryArrays {
  for (const name of INDEXED_IDS) arrays.text(records.map((r) => r[name]));
  for (const name of INDEXED_ENUMS) arrays.int2(records.map((r) => r[name]));
  return (
    arrays
      .int8(records.map((r) => r.timestampNs))
      .text(records.map((r) => JSON.stringify(r.tags)))
      // PostgreSQL text cannot hold NUL; the search text is only indexed, so a space loses nothing.
      .text(records.map((r) => withoutNul(r.searchText)))
  );
}

/** NUL as a space: PostgreSQL refuses NUL in text, and the search text is indexed with it replaced. */
export function withoutNul(text: string): string {
  return text.replaceAll("\0", " ");
}

/** The stored events of `records` whose index columns are not what the records make of them. */
export async function selectColumnDifferences(
  client: pg.ClientBase,
  records: readonly EventRecord[],
): Promise<ColumnDifference[]> {
  if (records.length === 0) return [];
  const pairs = INDEX_COLUMNS.map((column) => `('${column}', e.${column}::text, d.${column}::text)`).join(", ");
  const { rows } = await client.query<ColumnDifference>(
    `WITH derived AS (
       SELECT ${INDEX_VALUES}, n FROM unnest(${RECORD_PARAMETERS}) WITH ORDINALITY AS t(${RECORD_FIELDS}, n))
     SELECT d.event_id AS "eventId", c.name AS "column", c.stored, c.derived
     FROM derived d
     JOIN events e ON e.tenant_id = d.tenant_id COLLATE "C" AND e.event_id = d.event_id COLLATE "C"
     CROSS JOIN LATERAL (VALUES ${pairs}) AS c(name, stored, derived)
     WHERE c.stored IS DISTINCT FROM c.derived
     ORDER BY d.n, c.name`,
    addRecordArrays(new BinaryArrays(), records).build(),
  );
  return rows;
}
