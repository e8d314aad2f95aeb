import type { EventFilter, TailPosition, TailRead } from "../../store/event-store.ts";
import { isAfter } from "./tail-cursor.ts";

export type EndReason = "time-limit" | "slow-subscriber" | "shutdown";

/** What a stream hands its subscriber; each item's position resumes the tail right after it. */
export type TailItem =
  | { kind: "event"; position: TailPosition; payload: Uint8Array }
  | { kind: "heartbeat"; position: TailPosition }
  | { kind: "end"; position: TailPosition; reason: EndReason };

export interface TailStreamOptions {
  bufferEvents: number;
  heartbeatMs: number;
  /** When the stream ends itself with "time-limit" (ms since the epoch). */
  deadline: number;
  /** Called once, when the stream stops following (ended or closed). */
  onDetach: () => void;
}

/**
 * One subscriber's tail: the poller (tail-poller.ts) reads events into its bounded buffer and the
 * subscriber takes them with next(). A buffer that overflows ends the stream ("slow-subscriber")
 * after the events that fit, instead of holding events or ingest back.
 */
export class TailStream {
  readonly filter: EventFilter;
  /** The filter as a key, so streams with one filter at one position share a read. */
  readonly filterKey: string;
  readonly #options: TailStreamOptions;
  readonly #buffer: TailItem[] = [];
  /** After the last event read into the buffer, or the horizon when everything before it was read. */
  #readTo: TailPosition;
  /** After the last item handed out, and when (ms since the epoch; 0 until the first). */
  #sentTo: TailPosition;
  #sentAt = 0;
  #bufferedEvents = 0;
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
    return this.#options.bufferEvents - this.#bufferedEvents;
  }

  /**
   * Takes a read made from readTo with `limit`: buffers the events that fit, and moves readTo past
   * them, or to the horizon when the read saw every matching event before it.
   */
  take(read: TailRead, limit: number): void {
    if (!this.#following) return;
    const fitting = read.events.slice(0, this.room);
    for (const event of fitting) this.#buffer.push({ kind: "event", ...event });
    this.#bufferedEvents += fitting.length;
    const last = fitting.at(-1)?.position;
    if (last) this.#readTo = last;
    if (read.events.length > fitting.length) {
      this.#buffer.push({ kind: "end", position: this.#readTo, reason: "slow-subscriber" });
      this.#detach();
    } else if (read.events.length < limit) {
      this.advanceTo(read.horizon);
    }
    this.#wake?.();
  }

  /** Every matching event before `(horizon, "")` has been read. */
  advanceTo(horizon: bigint): void {
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
    this.#buffer.length = 0;
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
      const position = this.#buffer.length === 0 ? this.#readTo : this.#sentTo;
      this.#buffer.length = 0;
      return { kind: "end", position, reason: this.#stopping };
    }
    const item = this.#buffer.shift();
    if (item?.kind === "event") this.#bufferedEvents--;
    return item;
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
