import type { AuditTrail } from "./audit/audit-trail.ts";

export interface IngestQueueDrainLog {
  debug(obj: object, msg: string): void;
  info(msg: string): void;
  error(obj: object, msg: string): void;
}

/**
 * The ingest queue's drain: every `intervalMs`, takes the events stored since off `ingest_queue`
 * into the stats rollups and their tenants' logs, and signs a checkpoint of each log that grew:
 * an acknowledged event has its position and a signed checkpoint within about one interval. Several
 * servers on one database may all run one: only the holder of the database's background lease
 * works (Database.holdsBackgroundLease); the others try to take the lease each interval, so
 * another process takes over within one interval of the holder's process or connection ending.
 */
export class IngestQueueDrain {
  readonly #trail: AuditTrail;
  readonly #intervalMs: number;
  readonly #log: IngestQueueDrainLog;
  readonly #holdsLease: () => Promise<boolean>;
  /** Whether it held the background lease at its last round; undefined before its first. */
  #holds: boolean | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> = Promise.resolve();
  #stopped = false;
  #caughtUpAt: number | undefined;

  constructor(
    trail: AuditTrail,
    intervalMs: number,
    log: IngestQueueDrainLog,
    holdsLease: () => Promise<boolean> = async () => true,
  ) {
    this.#trail = trail;
    this.#holdsLease = holdsLease;
    this.#intervalMs = intervalMs;
    this.#log = log;
  }

  /**
   * When (epoch ms) the last successful round began: every event stored before then is in its
   * log and under a signed checkpoint, unless an older transaction of the database was still open
   * then (the log waits for it, ADR 0005). Undefined until a round succeeds.
   */
  get caughtUpAt(): number | undefined {
    return this.#caughtUpAt;
  }

  /** False once a round found another process holding the background lease (it does the work then). */
  get integratesHere(): boolean {
    return this.#holds !== false;
  }

  start(): void {
    this.#schedule();
  }

  /** Stops the timer and signs what the last requests appended, so a clean stop leaves nothing unsigned. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
    await this.#round();
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#running = this.#round().finally(() => this.#schedule());
    }, this.#intervalMs);
    this.#timer.unref();
  }

  async #round(): Promise<void> {
    const started = Date.now();
    try {
      const holds = await this.#holdsLease();
      if (holds !== this.#holds) {
        this.#log.info(
          holds ? "holds the background lease: integrating here" : "another process holds the background lease",
        );
      }
      this.#holds = holds;
      if (!holds) return;
      const signed = await this.#trail.integrateAndSign();
      this.#caughtUpAt = started;
      for (const c of signed) this.#log.debug({ tenant: c.tenantId, size: String(c.size) }, "signed a checkpoint");
    } catch (err) {
      // The next round tries again; nothing is lost, only later signed.
      this.#log.error({ err }, "signing checkpoints failed");
    }
  }
}
