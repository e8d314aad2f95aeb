import { PeriodicTask } from "../../lib/periodic-task.ts";
import type { Database } from "../../store/database.ts";
import { purgeExpired } from "./retention.ts";

/** How often the server looks for expired events: a period is in days, so an hour late is on time. */
export const RETENTION_INTERVAL_MS = 3_600_000;

export interface RetentionJobLog {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/**
 * The retention job: at start and then every RETENTION_INTERVAL_MS, purges what the retention
 * policies say has expired. Every server runs one; one purges at a time per database (an advisory
 * lock), and a purge record joins its tenant's log in the ingest queue drain's next round.
 */
export class RetentionJob {
  readonly #store: Database;
  readonly #log: RetentionJobLog;
  readonly #task = new PeriodicTask(() => this.#run(), RETENTION_INTERVAL_MS);

  constructor(store: Database, log: RetentionJobLog) {
    this.#store = store;
    this.#log = log;
  }

  start(): void {
    this.#task.start();
  }

  /** Stops the timer and waits for a run under way. */
  stop(): Promise<void> {
    return this.#task.stop();
  }

  async #run(): Promise<void> {
    try {
      for (const purge of (await purgeExpired(this.#store, new Date())) ?? []) {
        this.#log.info({ ...purge }, "purged the content of expired events");
      }
    } catch (err) {
      // The next run tries again; the content is only kept an interval longer.
      this.#log.error({ err }, "purging expired events failed");
    }
  }
}
