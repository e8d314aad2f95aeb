import type { TailPosition, TailSource } from "../../store/event-store.ts";
import { isAfter } from "./tail-cursor.ts";
import type { TailStream } from "./tail-stream.ts";

/** After a failed round (the database unavailable), the next one waits this long: one warning a second, not ten. */
const RETRY_AFTER_ERROR_MS = 1000;

/** Most events one read takes for one group of streams; a group with more reads again at once. */
const READ_BATCH = 500;

/**
 * Reads one tenant's new events for every stream of this process that follows the tenant: every
 * `pollMs` while it has streams, first one statement that says whether anything new is below the
 * horizon, then one read per group of streams with the same filter and position (streams that
 * keep up stay together). Events therefore reach a stream whichever process stored them.
 */
export class TailPoller {
  readonly #source: TailSource;
  readonly #tenantId: string;
  readonly #pollMs: number;
  readonly #onError: (err: unknown) => void;
  readonly #streams = new Set<TailStream>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(source: TailSource, tenantId: string, pollMs: number, onError: (err: unknown) => void) {
    this.#source = source;
    this.#tenantId = tenantId;
    this.#pollMs = pollMs;
    this.#onError = onError;
  }

  get idle(): boolean {
    return this.#streams.size === 0;
  }

  add(stream: TailStream): void {
    this.#streams.add(stream);
    this.#schedule(0);
  }

  remove(stream: TailStream): void {
    this.#streams.delete(stream);
    if (this.idle) this.stop();
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(delayMs: number): void {
    if (this.#timer || this.#running || this.idle) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#running = this.#poll()
        .then(
          (more) => (more ? 0 : this.#pollMs),
          (err) => {
            this.#onError(err);
            return RETRY_AFTER_ERROR_MS;
          },
        )
        .then((delay) => {
          this.#running = undefined;
          this.#schedule(delay);
        });
    }, delayMs);
  }

  /** One round; true when a group read a full batch and has more to read. */
  async #poll(): Promise<boolean> {
    const scope = { tenantId: this.#tenantId };
    const streams = [...this.#streams].filter((s) => s.following);
    if (streams.length === 0) return false;
    const earliest = streams.map((s) => s.readTo).reduce((a, b) => (isAfter(a, b) ? b : a));
    const { horizon, newer } = await this.#source.tailHorizon(scope, this.#tenantId, earliest);
    if (!newer) {
      for (const stream of streams) stream.advanceTo(horizon);
      return false;
    }
    let more = false;
    for (const group of groups(streams)) {
      const live = group.filter((s) => s.following);
      if (live.length === 0) continue;
      // One more than the roomiest buffer holds tells whether a buffer overflows.
      const limit = Math.min(READ_BATCH, Math.max(...live.map((s) => s.room)) + 1);
      const read = await this.#source.readTail(scope, live[0].filter, live[0].readTo, limit);
      for (const stream of live) stream.take(read, limit);
      if (read.events.length === limit && limit === READ_BATCH) more = true;
    }
    return more;
  }
}

/** The streams by filter and position: each group is served by one read. */
function groups(streams: TailStream[]): TailStream[][] {
  const byKey = new Map<string, TailStream[]>();
  for (const stream of streams) {
    const key = `${positionKey(stream.readTo)}\0${stream.filterKey}`;
    byKey.set(key, [...(byKey.get(key) ?? []), stream]);
  }
  return [...byKey.values()];
}

const positionKey = (p: TailPosition) => `${p.xid}:${p.eventId}`;
