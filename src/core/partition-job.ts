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
export class PartitionJob {
  readonly #store: Database;
  readonly #log: PartitionJobLog;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(store: Database, log: PartitionJobLog) {
    this.#store = store;
    this.#log = log;
  }

  start(): void {
    this.#schedule(0);
  }

  /** Stops the timer and waits for a run under way. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#running = this.#run().finally(() => this.#schedule(PARTITION_INTERVAL_MS));
    }, delayMs);
    this.#timer.unref();
  }

  async #run(): Promise<void> {
    try {
      if (!(await this.#store.holdsBackgroundLease())) return;
      for (const { name, created } of await this.#store.prepareEventPartitions()) {
        if (created) this.#log.info({ partition: name }, "created a monthly partition of the events");
        else
          this.#log.warn(
            { partition: name },
            "events of this month are in events_default: its partition was not created (docs/scaling.md §5)",
          );
      }
    } catch (err) {
      // The next run tries again, with the month still ahead.
      this.#log.error({ err }, "preparing the monthly partitions of the events failed");
    }
  }
}
