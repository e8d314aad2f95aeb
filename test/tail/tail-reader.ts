import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import type { TailEventsResponse, TailService } from "../../gen/chaukas/backend/v1/tail_pb.ts";
import type { QueryFilterSchema } from "../../gen/chaukas/spec/common/v1/query_pb.ts";

/** What a test reads of a tail: event ids in order (single or in batches), the responses, the last cursor. */
export class TailReader {
  readonly eventIds: string[] = [];
  readonly responses: TailEventsResponse[] = [];
  readonly #abort = new AbortController();
  readonly #items: AsyncIterator<TailEventsResponse>;

  constructor(
    client: Client<typeof TailService>,
    headers: Headers,
    filter: MessageInitShape<typeof QueryFilterSchema>,
    cursor = "",
    maxEventsPerMessage = 0,
  ) {
    this.#items = client
      .tailEvents({ filter, cursor, maxEventsPerMessage }, { headers, signal: this.#abort.signal })
      [Symbol.asyncIterator]();
  }

  get cursor(): string {
    return this.responses.at(-1)?.cursor ?? "";
  }

  /** The next item; undefined when the stream ended. */
  async next(): Promise<TailEventsResponse | undefined> {
    const { value, done } = await this.#items.next();
    if (done) return undefined;
    this.responses.push(value);
    if (value.item.case === "event") this.eventIds.push(value.item.value.eventId);
    if (value.item.case === "events") this.eventIds.push(...value.item.value.events.map((e) => e.eventId));
    return value;
  }

  /** Reads until the first item of `kind` (a heartbeat tells the stream is open), or the end. */
  async until(kind: TailEventsResponse["item"]["case"]): Promise<TailEventsResponse | undefined> {
    for (let item = await this.next(); item; item = await this.next()) if (item.item.case === kind) return item;
    return undefined;
  }

  /** Reads until `count` events in all were read (or the stream ended). */
  async events(count: number): Promise<string[]> {
    while (this.eventIds.length < count && (await this.next()));
    return this.eventIds;
  }

  /** Goes, as a subscriber that closes its stream. */
  cancel(): void {
    this.#abort.abort();
  }
}
