import type pg from "pg";
import type { EventFilter, TailEvent, TailPosition, TailRead } from "../event-store.ts";
import type { RowFields } from "./binary-rows.ts";
import { WhereBuilder } from "./event-filter.ts";

/**
 * The live tail's reads (see docs/adr/0014-live-tail.md). The horizon is the xmin of the
 * statement's own snapshot: every transaction below it has ended, and those that committed are
 * visible to the statement, so no row can appear behind it later. xid8 travels as text.
 */
const HORIZON = "pg_snapshot_xmin(pg_current_snapshot())";

/**
 * A tail read: the events of `filter` after `after`, in (stored_xid, event_id) order, at most
 * `limit`, and the horizon, from one statement and so from one snapshot. The caller runs it as a
 * kept plan with sorts off (rowsInTenantScope), so every plan, the kept one included, walks the
 * tail-order index from `after` up to the horizon and stops at the LIMIT. PostgreSQL's estimate
 * of the rows after a recent position is a handful, whatever the backlog: a plan allowed to sort
 * read and sorted every row after it (docs/adr/0042-tail-reads-in-index-order.md).
 */
export function tailReadStatement(
  filter: EventFilter,
  after: TailPosition,
  limit: number,
): { text: string; values: unknown[] } {
  const where = new WhereBuilder(filter);
  const xid = where.param(after.xid.toString());
  const id = where.param(after.eventId);
  const max = where.param(limit);
  return {
    text: `WITH h AS (SELECT ${HORIZON} AS horizon)
     SELECT h.horizon::text AS horizon, p.stored_xid::text AS xid, p.event_id, p.payload
     FROM h LEFT JOIN LATERAL (
       SELECT stored_xid, event_id, payload FROM events
       WHERE ${where.sql()} AND (stored_xid, event_id) > (${xid}::xid8, ${id}) AND stored_xid < h.horizon
       ORDER BY stored_xid, event_id LIMIT ${max}) p ON true
     ORDER BY p.stored_xid, p.event_id`,
    values: where.values,
  };
}

/** The read: the horizon is on each of tailRowOf's rows; an empty page is one row, no event. */
export function tailReadOf(rows: readonly TailRow[]): TailRead {
  return { horizon: rows[0].horizon, events: rows.flatMap((row) => (row.event ? [row.event] : [])) };
}

interface TailRow {
  horizon: bigint;
  event?: TailEvent;
}

/** The horizon, and the event of the row if the page has one (a LEFT JOIN: none when it is empty). */
export function tailRowOf(row: RowFields): TailRow {
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
