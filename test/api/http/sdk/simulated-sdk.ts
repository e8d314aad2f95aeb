import type { Event } from "../../../../gen/chaukas/spec/common/v1/events_pb.ts";
import { batchRequestBytes, type HttpAnswer, type SdkHttp } from "./sdk-like.ts";

const HIGH_MEMORY = /high memory usage/i;

export interface SimulatedSdkOptions {
  batchSize: number;
  /**
   * Treat every n-th successful answer as lost (as when the SDK's 30 s timeout fires after the server
   * committed), so those events are requeued and arrive twice. 0 loses none.
   */
  loseEveryNthAnswer: number;
}

/**
 * The Python SDK's sending loop, reduced to its rules: batches of `batchSize` from a queue; any 2xx
 * is success; a 503 whose body says "high memory usage" halves the batch and resends it in chunks;
 * any other failure puts the events back in the queue for the next flush.
 */
export class SimulatedSdk {
  readonly #http: SdkHttp;
  readonly #options: SimulatedSdkOptions;
  readonly #queue: Event[] = [];
  #answers = 0;
  /** Every "high memory usage" 503 seen, for assertions on its headers and body. */
  readonly overloaded: HttpAnswer[] = [];
  requeued = 0;
  requests = 0;

  constructor(http: SdkHttp, options: SimulatedSdkOptions) {
    this.#http = http;
    this.#options = options;
  }

  enqueue(events: Event[]): void {
    this.#queue.push(...events);
  }

  /** Flushes until the queue is empty (or gives up after `maxFlushes`, so a bug fails instead of hanging). */
  async drain(maxFlushes = 10_000): Promise<void> {
    for (let flush = 0; this.#queue.length > 0; flush++) {
      if (flush >= maxFlushes) throw new Error(`queue not empty after ${maxFlushes} flushes`);
      await this.#send(this.#queue.splice(0, this.#options.batchSize));
    }
  }

  async #send(events: Event[]): Promise<void> {
    this.requests++;
    let answer: HttpAnswer;
    try {
      answer = await this.#http.post("/events/batch", batchRequestBytes(events));
    } catch {
      return this.#requeue(events);
    }
    if (answer.status >= 200 && answer.status < 300) {
      this.#answers++;
      const lost = this.#options.loseEveryNthAnswer > 0 && this.#answers % this.#options.loseEveryNthAnswer === 0;
      if (lost) this.#requeue(events);
      return;
    }
    if (answer.status === 503 && HIGH_MEMORY.test(answer.text) && events.length > 1) {
      this.overloaded.push(answer);
      const half = Math.ceil(events.length / 2);
      for (let i = 0; i < events.length; i += half) await this.#send(events.slice(i, i + half));
      return;
    }
    if (answer.status === 503 && HIGH_MEMORY.test(answer.text)) this.overloaded.push(answer);
    this.#requeue(events);
  }

  #requeue(events: Event[]): void {
    this.requeued += events.length;
    this.#queue.push(...events);
  }
}
