import type pg from "pg";
import type { EventPartition } from "../database.ts";
import { runQuery } from "./pool.ts";

/** The months after this one whose partitions of `events` are kept ready: two. */
export const PARTITION_MONTHS_AHEAD = 2;

/**
 * Creates the monthly partitions of `events` missing from this month to PARTITION_MONTHS_AHEAD
 * after it (chaukas_prepare_event_partitions, in the event-partitions migration); returns those it
 * created or could not create.
 */
export async function prepareEventPartitions(pool: pg.Pool): Promise<EventPartition[]> {
  const { rows } = await runQuery<EventPartition>(
    pool,
    `SELECT partition_name AS name, created FROM chaukas_prepare_event_partitions($1)`,
    [PARTITION_MONTHS_AHEAD],
  );
  return rows;
}
