/**
 * A task run after a first delay and then every `intervalMs` from the start of its last run (at
 * once when that run took longer), never two at once. Its timer does not keep the process alive.
 * `run` handles its own errors.
 */
export class PeriodicTask {
  readonly #run: () => Promise<void>;
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(run: () => Promise<void>, intervalMs: number) {
    this.#run = run;
    this.#intervalMs = intervalMs;
  }

  /** The first run after `firstMs` (at once by default). */
  start(firstMs = 0): void {
    this.#schedule(performance.now() + firstMs);
  }

  /** Stops the timer and waits for a run under way. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  #schedule(dueAt: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(
      () => {
        const startedAt = performance.now();
        this.#running = this.#run().finally(() => this.#schedule(startedAt + this.#intervalMs));
      },
      Math.max(0, dueAt - performance.now()),
    );
    this.#timer.unref();
  }
}
