import type { TailEvent, TailPosition, TailSource } from "../../store/event-store.ts";
import { isAfter } from "./tail-cursor.ts";
import type { TailStream } from "./tail-stream.ts";

/** After a failed round (the database unavailable), the next one waits this long: one warning a second, not ten. */
const RETRY_AFTER_ERROR_MS = 1000;

/** Most events one read takes. */
const READ_BATCH = 500;

/**
 * Reads one tenant's new events for every stream of this process that follows the tenant: every
 * `pollMs` while it has streams, first one statement that says whether anything new is below the
 * horizon, then, for each filter, one read from its streams' oldest position, which serves every
 * stream whose position it passes; streams at or beyond its last event get a read from the oldest
 * of them (ADR 0041). A stream less than a read behind its filter's others thus shares their reads
 * and catches up with them. Events reach a stream whichever process stored them.
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

  /** One round; true when a stream may have more waiting after a full read. */
  async #poll(): Promise<boolean> {
    const scope = { tenantId: this.#tenantId };
    const streams = [...this.#streams].filter((s) => s.following);
    if (streams.length === 0) return false;
    const { horizon, newer } = await this.#source.tailHorizon(scope, this.#tenantId, oldest(streams).readTo);
    if (!newer) {
      for (const stream of streams) stream.advanceTo(horizon);
      return false;
    }
    let more = false;
    for (const sameFilter of byFilter(streams)) {
      let unserved = sameFilter;
      while (unserved.length > 0) {
        const live = unserved.filter((s) => s.following);
        if (live.length === 0) break;
        const first = oldest(live);
        // One more than the roomiest buffer holds tells whether a buffer overflows.
        const limit = Math.min(READ_BATCH, Math.max(...live.map((s) => s.room)) + 1);
        const read = await this.#source.readTail(scope, first.filter, first.readTo, limit);
        // Fewer than asked: the read holds every matching event between its start and the horizon.
        const complete = read.events.length < limit;
        const last = read.events.at(-1)?.position;
        unserved = [];
        for (const stream of live) {
          // A full read serves the streams before its last event; the rest read from there on.
          const served = complete || (last !== undefined && isAfter(last, stream.readTo));
          if (served) stream.take(eventsAfter(read.events, stream.readTo), complete ? read.horizon : undefined);
          else unserved.push(stream);
        }
        // After a full read, a stream it served that still follows may have more waiting.
        if (!complete && live.some((s) => s.following)) more = true;
      }
    }
    return more;
  }
}

/** The stream whose position comes first. */
function oldest(streams: TailStream[]): TailStream {
  return streams.reduce((a, b) => (isAfter(a.readTo, b.readTo) ? b : a));
}

/** The streams by filter: each filter's are served by reads from their oldest position. */
function byFilter(streams: TailStream[]): TailStream[][] {
  const byKey = new Map<string, TailStream[]>();
  for (const stream of streams) {
    const same = byKey.get(stream.filterKey);
    if (same) same.push(stream);
    else byKey.set(stream.filterKey, [stream]);
  }
  return [...byKey.values()];
}

/** The events, in order, that come after `position` (a binary search). */
function eventsAfter(events: TailEvent[], position: TailPosition): TailEvent[] {
  let low = 0;
  let high = events.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (isAfter(events[middle].position, position)) high = middle;
    else low = middle + 1;
  }
  return low === 0 ? events : events.slice(low);
}
