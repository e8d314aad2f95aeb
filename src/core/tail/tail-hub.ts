import type { QueryFilter } from "../../../gen/chaukas/spec/common/v1/query_pb.ts";
import { type FieldViolation, InvalidArgumentError, LimitReachedError, UnavailableError } from "../../lib/errors.ts";
import type { TailSource } from "../../store/event-store.ts";
import { authorize, type Principal } from "../access.ts";
import { readQueryFilter } from "../query-filter.ts";
import { decodeTailCursor } from "./tail-cursor.ts";
import { TailPoller } from "./tail-poller.ts";
import { TailStream } from "./tail-stream.ts";

/** Most events in one item of a stream that asks for several. */
export const MAX_EVENTS_PER_ITEM = 500;
/**
 * Most payload bytes in such an item (a larger event goes alone). Each binary response is written
 * through buffers of its size, per subscriber; with 60 KiB of events, their tags and lengths and
 * the cursor (event ids are at most 256 characters) its message stays under 64 KiB, so even
 * protobuf-es's writer, which grows by doubling, stays under 128 KiB: the buffers reuse freed heap
 * instead of each being a new mapping whose pages fault, even where glibc's mapping threshold is
 * set as low as 128 KiB (ADR 0034, ADR 0044).
 */
export const MAX_BYTES_PER_ITEM = 60 << 10;

export interface TailSettings {
  /** How often a tenant's new events are read while streams follow it. */
  pollMs: number;
  /** A stream with nothing to send sends a heartbeat this long after its last item. */
  heartbeatMs: number;
  /** A stream ends itself ("time-limit") this long after it opened. */
  maxStreamMs: number;
  /** Events a stream holds for its subscriber; past it, the stream ends ("slow-subscriber"). */
  bufferEvents: number;
  /** Streams one API key may hold open at once in this process. */
  maxTailsPerKey: number;
}

/**
 * The live tail's use case: opens streams in the caller's scope (the rules of QueryEvents), keeps
 * one poller per tenant followed, bounds the streams per key, and ends every stream on close.
 */
export class TailHub {
  readonly #source: TailSource;
  readonly #settings: TailSettings;
  readonly #onError: (err: unknown) => void;
  readonly #pollers = new Map<string, TailPoller>();
  readonly #streams = new Set<TailStream>();
  readonly #openPerKey = new Map<string, number>();
  #closed = false;

  constructor(source: TailSource, settings: TailSettings, onError: (err: unknown) => void) {
    this.#source = source;
    this.#settings = settings;
    this.#onError = onError;
  }

  /**
   * A stream of the events matching `filter` (its time range ignored) after `cursor`, or from now
   * when the cursor is empty, with up to `maxEventsPerItem` events an item (at least 1, at most
   * MAX_EVENTS_PER_ITEM). The caller must close() it when its subscriber goes.
   */
  async open(
    principal: Principal,
    requested: QueryFilter | undefined,
    cursor: string,
    maxEventsPerItem: number,
  ): Promise<TailStream> {
    authorize(principal, "read");
    if (this.#closed) throw new UnavailableError("the server is shutting down");
    const violations: FieldViolation[] = [];
    const at = (field: string) => field;
    const { storeFilter } = readQueryFilter(principal, requested && { ...requested, time: undefined }, at, violations);
    const from = cursor === "" ? undefined : tryCursor(cursor, violations);
    if (violations.length > 0) throw new InvalidArgumentError(violations);
    const key = principal.kind === "key" ? principal.keyId : "";
    const open = this.#openPerKey.get(key) ?? 0;
    if (open >= this.#settings.maxTailsPerKey) {
      throw new LimitReachedError(
        `${key ? `key ${key}` : "this server"} has ${open} tails open, the most allowed; close one first`,
      );
    }
    this.#openPerKey.set(key, open + 1);
    const tenantId = storeFilter.tenantId;
    try {
      const start = from ?? {
        xid: (await this.#source.tailHorizon({ tenantId }, tenantId, { xid: 0n, eventId: "" })).horizon,
        eventId: "",
      };
      const poller = this.#poller(tenantId);
      const stream: TailStream = new TailStream(storeFilter, start, {
        bufferEvents: this.#settings.bufferEvents,
        maxEventsPerItem: Math.min(Math.max(maxEventsPerItem, 1), MAX_EVENTS_PER_ITEM),
        maxBytesPerItem: MAX_BYTES_PER_ITEM,
        heartbeatMs: this.#settings.heartbeatMs,
        deadline: Date.now() + this.#settings.maxStreamMs,
        onDetach: () => {
          this.#streams.delete(stream);
          this.#release(key);
          poller.remove(stream);
          if (poller.idle) this.#pollers.delete(tenantId);
        },
      });
      this.#streams.add(stream);
      poller.add(stream);
      // Opened while the server was closing (during the horizon's read): it ends at once.
      if (this.#closed) stream.stop("shutdown");
      return stream;
    } catch (err) {
      this.#release(key);
      throw err;
    }
  }

  /** Ends every stream ("shutdown") and refuses new ones. */
  close(): void {
    this.#closed = true;
    for (const stream of [...this.#streams]) stream.stop("shutdown");
  }

  #poller(tenantId: string): TailPoller {
    let poller = this.#pollers.get(tenantId);
    if (!poller) {
      poller = new TailPoller(this.#source, tenantId, this.#settings.pollMs, this.#onError);
      this.#pollers.set(tenantId, poller);
    }
    return poller;
  }

  #release(key: string): void {
    const open = (this.#openPerKey.get(key) ?? 1) - 1;
    if (open > 0) this.#openPerKey.set(key, open);
    else this.#openPerKey.delete(key);
  }
}

function tryCursor(cursor: string, violations: FieldViolation[]) {
  try {
    return decodeTailCursor(cursor, "cursor");
  } catch (err) {
    if (!(err instanceof InvalidArgumentError)) throw err;
    violations.push(...err.violations);
    return undefined;
  }
}
