import type pg from "pg";
import type { EventFilter, TailEvent, TailPosition, TailRead } from "../event-store.ts";
import { queryRows, type RowFields } from "./binary-rows.ts";
import { WhereBuilder } from "./event-filter.ts";

/**
 * The live tail's reads (see docs/adr/0014-live-tail.md). The horizon is the xmin of the
 * statement's own snapshot: every transaction below it has ended, and those that committed are
 * visible to the statement, so no row can appear behind it later. xid8 travels as text.
 */
const HORIZON = "pg_snapshot_xmin(pg_current_snapshot())";

export async function selectTail(
  client: pg.ClientBase,
  filter: EventFilter,
  after: TailPosition,
  limit: number,
): Promise<TailRead> {
  const where = new WhereBuilder(filter);
  const xid = where.param(after.xid.toString());
  const id = where.param(after.eventId);
  const max = where.param(limit);
  // The horizon and the rows come from one statement, so from one snapshot.
  const rows = await queryRows(
    client,
    `WITH h AS (SELECT ${HORIZON} AS horizon),
     page AS (
       SELECT stored_xid, event_id, payload FROM events, h
       WHERE ${where.sql()} AND (stored_xid, event_id) > (${xid}::xid8, ${id}) AND stored_xid < h.horizon
       ORDER BY stored_xid, event_id LIMIT ${max})
     SELECT h.horizon::text AS horizon, p.stored_xid::text AS xid, p.event_id, p.payload
     FROM h LEFT JOIN page p ON true ORDER BY p.stored_xid, p.event_id`,
    where.values,
    tailRowOf,
  );
  return { horizon: rows[0].horizon, events: rows.flatMap((row) => (row.event ? [row.event] : [])) };
}

/** The horizon, and the event of the row if the page has one (a LEFT JOIN: none when it is empty). */
function tailRowOf(row: RowFields): { horizon: bigint; event?: TailEvent } {
  const horizon = BigInt(row.text());
  if (row.nextIsNull()) return { horizon };
  const xid = BigInt(row.text());
  const eventId = row.text();
  return { horizon, event: { position: { xid, eventId }, payload: row.bytea() } };
}

export async function selectTailHorizon(
  client: pg.ClientBase,
  tenantId: string,
  after: TailPosition,
): Promise<{ horizon: bigint; newer: boolean }> {
  const { rows } = await client.query<{ horizon: string; newer: boolean }>(
    `WITH h AS (SELECT ${HORIZON} AS horizon)
     SELECT h.horizon::text AS horizon, EXISTS (
       SELECT FROM events WHERE tenant_id = $1 AND (stored_xid, event_id) > ($2::xid8, $3) AND stored_xid < h.horizon
     ) AS newer FROM h`,
    [tenantId, after.xid.toString(), after.eventId],
  );
  return { horizon: BigInt(rows[0].horizon), newer: rows[0].newer };
}
