import { PeriodicTask } from "../lib/periodic-task.ts";
import type { Database } from "../store/database.ts";

/** How often the partitions ahead are checked: a month is prepared two months before it begins. */
export const PARTITION_INTERVAL_MS = 3_600_000;

export interface PartitionJobLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/**
 * Keeps the monthly partitions of the events ready (Database.prepareEventPartitions): at start and
 * then every PARTITION_INTERVAL_MS, on the process that holds the database's background lease.
 */
export function partitionJob(store: Database, log: PartitionJobLog): PeriodicTask {
  return new PeriodicTask(() => preparePartitions(store, log), PARTITION_INTERVAL_MS);
}

async function preparePartitions(store: Database, log: PartitionJobLog): Promise<void> {
  try {
    if (!(await store.holdsBackgroundLease())) return;
    for (const { name, created } of await store.prepareEventPartitions()) {
      if (created) log.info({ partition: name }, "created a monthly partition of the events");
      else
        log.warn(
          { partition: name },
          "events of this month are in events_default: its partition was not created (docs/scaling.md §5)",
        );
    }
  } catch (err) {
    // The next run tries again, with the month still ahead.
    log.error({ err }, "preparing the monthly partitions of the events failed");
  }
}
