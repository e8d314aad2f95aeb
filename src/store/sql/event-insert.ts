import type pg from "pg";
import type { EventRecord } from "../event-store.ts";
import { BinaryArrays } from "./binary-arrays.ts";
import { addRecordArrays, INDEX_COLUMNS, INDEX_VALUES, RECORD_FIELDS, RECORD_PARAMETERS } from "./event-columns.ts";
import { addUsageArrays, USAGE_COLUMNS, usageParameterTypes } from "./usage-rollup.ts";

/**
 * Inserts the events and queues those stored now (not the ones already there) for the stats
 * rollups and, when $22 is true, for their audit logs. An event is new when its id could be added
 * to event_ids: the primary key of the partitioned events includes ts_ns, so it alone would store
 * an id resent with another time twice. $14: the payloads, $15: their content hashes, $16..$21:
 * the usage figures, queued only.
 */
const INSERT_EVENTS_AND_QUEUE = `
WITH t AS (
  SELECT ${RECORD_FIELDS}, payload, content_hash, ${USAGE_COLUMNS.join(", ")}, n
  FROM unnest(${RECORD_PARAMETERS}, $14::bytea[], $15::bytea[], ${usageParameterTypes(16)})
    WITH ORDINALITY AS t(${RECORD_FIELDS}, payload, content_hash, ${USAGE_COLUMNS.join(", ")}, n)
), new_ids AS (
  INSERT INTO event_ids (tenant_id, event_id, ts_ns)
  SELECT tenant_id, event_id, ts_ns FROM t ORDER BY n
  ON CONFLICT DO NOTHING
  RETURNING tenant_id, event_id
), stored AS (
  INSERT INTO events (${INDEX_COLUMNS.join(", ")}, payload)
  SELECT ${INDEX_VALUES}, payload
  FROM t WHERE (tenant_id COLLATE "C", event_id COLLATE "C") IN (SELECT tenant_id, event_id FROM new_ids)
  ORDER BY n
)
INSERT INTO ingest_queue (tenant_id, event_id, content_hash, project_id, session_id, type, ts_ns, to_log,
                         status, severity, ${USAGE_COLUMNS.join(", ")}, in_usage)
SELECT t.tenant_id, t.event_id, t.content_hash, t.project_id, t.session_id, t.type, t.ts_ns, $22::boolean,
       t.status, t.severity, ${USAGE_COLUMNS.map((c) => `t.${c}`).join(", ")}, true
FROM t JOIN new_ids ON new_ids.tenant_id = t.tenant_id COLLATE "C" AND new_ids.event_id = t.event_id COLLATE "C"
ORDER BY t.n`;

/**
 * The statement that stores records without repeats (see firstOfEach) and queues those stored now;
 * its row count is how many were stored now.
 */
export function insertAndQueueStatement(unique: readonly EventRecord[], auditTrail: boolean): pg.QueryConfig {
  const arrays = addRecordArrays(new BinaryArrays(), unique)
    .bytea(unique.map((r) => r.payload))
    .bytea(unique.map((r) => sha256Sized(r.contentHash)));
  addUsageArrays(
    arrays,
    unique.map((r) => r.usage),
  );
  return { name: "insert-events-and-queue", text: INSERT_EVENTS_AND_QUEUE, values: [...arrays.build(), auditTrail] };
}

/** A content hash is a SHA-256: anything else would make a leaf no one can recompute. */
function sha256Sized(hash: Uint8Array): Uint8Array {
  if (hash.byteLength !== 32) throw new Error(`a content hash is 32 bytes, not ${hash.byteLength}`);
  return hash;
}
