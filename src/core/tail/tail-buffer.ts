import type { TailEvent } from "../../store/event-store.ts";

/**
 * A stream's events read and not yet sent, in order: reads append, the subscriber takes runs from
 * the front. A head index moves over taken events (shift() per event would move the whole array
 * each time); the array is cut once the taken part is at least half of it.
 */
export class TailBuffer {
  #events: TailEvent[] = [];
  #head = 0;

  /** Events held. */
  get size(): number {
    return this.#events.length - this.#head;
  }

  push(events: readonly TailEvent[]): void {
    for (const event of events) this.#events.push(event);
  }

  /**
   * The oldest events, at most `maxEvents` and, past the first, no more than `maxBytes` of
   * payloads in all (a larger event goes alone); empty when none is held.
   */
  take(maxEvents: number, maxBytes: number): TailEvent[] {
    const limit = Math.min(this.#events.length, this.#head + maxEvents);
    let end = this.#head;
    for (let bytes = 0; end < limit; end++) {
      bytes += this.#events[end].payload.byteLength;
      if (bytes > maxBytes && end > this.#head) break;
    }
    const taken = this.#events.slice(this.#head, end);
    this.#head = end;
    if (this.#head === this.#events.length) this.clear();
    else if (this.#head * 2 >= this.#events.length) {
      this.#events = this.#events.slice(this.#head);
      this.#head = 0;
    }
    return taken;
  }

  clear(): void {
    this.#events = [];
    this.#head = 0;
  }
}
