import type { EventFilter } from "./event-store.ts";
import type { TenantScope } from "./tenant-scope.ts";

/**
 * A place in the live tail's order, (stored_xid, event_id): the inserting transaction's id, then
 * the event id. `eventId: ""` is before every event of transaction `xid`.
 */
export interface TailPosition {
  xid: bigint;
  eventId: string;
}

export interface TailEvent {
  position: TailPosition;
  payload: Uint8Array;
}

export interface TailRead {
  /** Matching events after the position, in order, at most the limit. */
  events: TailEvent[];
  /**
   * Every transaction below this one had ended when the events were read: a read that returned
   * fewer events than its limit has seen every matching event before `(horizon, "")`.
   */
  horizon: bigint;
}

/** The stored events in the order the live tail follows them (see docs/adr/0014-live-tail.md). */
export interface TailSource {
  /** The events after `after` matching `filter` (its time bounds included) of transactions below the horizon. */
  readTail(scope: TenantScope, filter: EventFilter, after: TailPosition, limit: number): Promise<TailRead>;
  /** The current horizon, and whether any event of `tenantId` lies between `after` and it. */
  tailHorizon(scope: TenantScope, tenantId: string, after: TailPosition): Promise<{ horizon: bigint; newer: boolean }>;
}
