import type pg from "pg";
import type { EventRecord } from "../event-store.ts";
import { INDEX_COLUMNS, INDEX_VALUES, RECORD_FIELDS, RECORD_PARAMETERS, recordParameters } from "./event-columns.ts";
import { packed } from "./pool.ts";
import { USAGE_COLUMNS, usageParameters, usageParameterTypes } from "./usage-rollup.ts";

/**
 * Inserts the events and queues those stored now (not the ones already there) for the stats
 * rollups and, when $20 is true, for their audit logs. An event is new when its id could be added
 * to event_ids: the primary key of the partitioned events includes ts_ns, so it alone would store
 * an id resent with another time twice. Payloads and content hashes are packed (see packed()):
 * $14 with $15 and $16, $17 with $18 and $19. $21 on: the usage figures, queued only.
 */
const INSERT_EVENTS_AND_QUEUE = `
WITH t AS (
  SELECT ${RECORD_FIELDS}, substring($14::bytea FROM payload_at FOR payload_length) AS payload,
         substring($17::bytea FROM hash_at FOR hash_length) AS content_hash, ${USAGE_COLUMNS.join(", ")}, n
  FROM unnest(${RECORD_PARAMETERS}, $15::int4[], $16::int4[], $18::int4[], $19::int4[], ${usageParameterTypes(21)})
    WITH ORDINALITY AS t(${RECORD_FIELDS}, payload_at, payload_length, hash_at, hash_length, ${USAGE_COLUMNS.join(", ")}, n)
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
SELECT t.tenant_id, t.event_id, t.content_hash, t.project_id, t.session_id, t.type, t.ts_ns, $20::boolean,
       t.status, t.severity, ${USAGE_COLUMNS.map((c) => `t.${c}`).join(", ")}, true
FROM t JOIN new_ids ON new_ids.tenant_id = t.tenant_id COLLATE "C" AND new_ids.event_id = t.event_id COLLATE "C"
ORDER BY t.n`;

/**
 * The statement that stores records without repeats (see firstOfEach) and queues those stored now;
 * its row count is how many were stored now.
 */
export function insertAndQueueStatement(unique: readonly EventRecord[], auditTrail: boolean): pg.QueryConfig {
  return {
    name: "insert-events-and-queue",
    text: INSERT_EVENTS_AND_QUEUE,
    values: [
      ...recordParameters(unique),
      ...packed(unique.map((r) => r.payload)),
      ...packed(unique.map((r) => sha256Sized(r.contentHash))),
      auditTrail,
      ...usageParameters(unique.map((r) => r.usage)),
    ],
  };
}

/** A content hash is a SHA-256: anything else would make a leaf no one can recompute. */
function sha256Sized(hash: Uint8Array): Uint8Array {
  if (hash.byteLength !== 32) throw new Error(`a content hash is 32 bytes, not ${hash.byteLength}`);
  return hash;
}
