import type { EventFilter, TailEvent, TailPosition } from "../../store/event-store.ts";
import { TailBuffer } from "./tail-buffer.ts";
import { isAfter } from "./tail-cursor.ts";

export type EndReason = "time-limit" | "slow-subscriber" | "shutdown";

/** What a stream hands its subscriber; each item's position resumes the tail right after it. */
export type TailItem =
  /** One or more events, in order; the position is the last one's. */
  | { kind: "events"; position: TailPosition; events: TailEvent[] }
  | { kind: "heartbeat"; position: TailPosition }
  | { kind: "end"; position: TailPosition; reason: EndReason };

export interface TailStreamOptions {
  bufferEvents: number;
  /** Most events one item carries (1: each event alone). */
  maxEventsPerItem: number;
  /** Most payload bytes one item of several events carries. */
  maxBytesPerItem: number;
  heartbeatMs: number;
  /** When the stream ends itself with "time-limit" (ms since the epoch). */
  deadline: number;
  /** Called once, when the stream stops following (ended or closed). */
  onDetach: () => void;
}

/**
 * One subscriber's tail: the poller (tail-poller.ts) reads events into its bounded buffer and the
 * subscriber takes them with next(), everything waiting (up to the item's bounds) at once. A buffer
 * that overflows ends the stream ("slow-subscriber") after the events that fit, instead of holding
 * events or ingest back.
 */
export class TailStream {
  readonly filter: EventFilter;
  /** The filter as a key, so streams with one filter share their reads. */
  readonly filterKey: string;
  readonly #options: TailStreamOptions;
  readonly #buffer = new TailBuffer();
  /** Set when the buffer overflowed: the stream ends ("slow-subscriber") here once its events are sent. */
  #slowEndAt: TailPosition | undefined;
  /** After the last event read into the buffer, or the horizon when everything before it was read. */
  #readTo: TailPosition;
  /** After the last item handed out, and when (ms since the epoch; 0 until the first). */
  #sentTo: TailPosition;
  #sentAt = 0;
  #following = true;
  #stopping: EndReason | undefined;
  #ended = false;
  #wake: (() => void) | undefined;

  constructor(filter: EventFilter, from: TailPosition, options: TailStreamOptions) {
    this.filter = filter;
    this.filterKey = JSON.stringify(filter);
    this.#readTo = from;
    this.#sentTo = from;
    this.#options = options;
  }

  get following(): boolean {
    return this.#following;
  }

  /** Where the poller reads this stream from. */
  get readTo(): TailPosition {
    return this.#readTo;
  }

  /** Room left in the buffer, in events. */
  get room(): number {
    return this.#options.bufferEvents - this.#buffer.size;
  }

  /**
   * Takes the events of a read that come after readTo, in order: buffers those that fit and moves
   * readTo past them; `horizon` is given when the read held every matching event before it.
   */
  take(events: TailEvent[], horizon: bigint | undefined): void {
    if (!this.#following) return;
    const fitting = events.length > this.room ? events.slice(0, this.room) : events;
    this.#buffer.push(fitting);
    const last = fitting.at(-1)?.position;
    if (last) this.#readTo = last;
    if (events.length > fitting.length) {
      this.#slowEndAt = this.#readTo;
      this.#detach();
    } else if (horizon !== undefined) {
      this.advanceTo(horizon);
    }
    this.#wake?.();
  }

  /** Every matching event before `(horizon, "")` has been read. */
  advanceTo(horizon: bigint): void {
    // A stream that stopped following keeps the position its end names.
    if (!this.#following) return;
    const position = { xid: horizon, eventId: "" };
    if (isAfter(position, this.#readTo)) this.#readTo = position;
  }

  /** Ends the stream at its next item: the buffered events are dropped, the cursor follows the last item sent. */
  stop(reason: EndReason): void {
    if (this.#stopping || this.#ended) return;
    this.#stopping = reason;
    this.#detach();
    this.#wake?.();
  }

  /** The subscriber is gone. */
  close(): void {
    this.#ended = true;
    this.#buffer.clear();
    this.#detach();
    this.#wake?.();
  }

  /**
   * The next item, after waiting for one (a heartbeat when none comes in time); undefined once ended.
   * The first item goes out at once, a heartbeat if no event waits: it tells the subscriber the tail
   * is open, so anything stored from then on will reach it.
   */
  async next(signal: AbortSignal): Promise<TailItem | undefined> {
    while (!this.#ended && !signal.aborted) {
      const item = this.#nextNow();
      if (item) return this.#send(item);
      const heartbeatDue = this.#sentAt + this.#options.heartbeatMs;
      if (Date.now() >= this.#options.deadline) this.stop("time-limit");
      else if (Date.now() >= heartbeatDue) return this.#send({ kind: "heartbeat", position: this.#readTo });
      else await this.#wait(signal, Math.min(heartbeatDue, this.#options.deadline));
    }
    return undefined;
  }

  #nextNow(): TailItem | undefined {
    if (this.#stopping) {
      const position = this.#buffer.size === 0 ? this.#readTo : this.#sentTo;
      this.#buffer.clear();
      return { kind: "end", position, reason: this.#stopping };
    }
    const events = this.#buffer.take(this.#options.maxEventsPerItem, this.#options.maxBytesPerItem);
    if (events.length > 0) return { kind: "events", position: events[events.length - 1].position, events };
    if (this.#slowEndAt) return { kind: "end", position: this.#slowEndAt, reason: "slow-subscriber" };
    return undefined;
  }

  #send(item: TailItem): TailItem {
    this.#sentTo = item.position;
    this.#sentAt = Date.now();
    if (item.kind === "end") {
      this.#ended = true;
      this.#detach();
    }
    return item;
  }

  /** Resolves at `until` (ms since the epoch), or before when woken or aborted. */
  #wait(signal: AbortSignal, until: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, until - Date.now()));
      signal.addEventListener("abort", done, { once: true });
      this.#wake = done;
    });
  }

  #detach(): void {
    if (!this.#following) return;
    this.#following = false;
    this.#options.onDetach();
  }
}
