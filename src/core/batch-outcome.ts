/**
 * What became of an ingest batch, the one shape of it: the event service makes it and each
 * protocol only renders it (api/rpc/ingest-batch.ts for gRPC and Connect, api/http/batch-answers.ts
 * for the SDK's routes and REST).
 */
export interface BatchOutcome {
  /** Events stored by this batch or already stored (a repeat is harmless). */
  acceptedCount: number;
  /** The others, in their order in the request. */
  rejected: RejectedEvent[];
}

export interface RejectedEvent {
  /** The event's place in the request's list. */
  index: number;
  /** The event's id, or `#<index>` in the batch when it has none. */
  eventId: string;
  reason: string;
}

/** A lone event's outcome once it is stored (a refused one is an error instead). */
export const ONE_ACCEPTED: Readonly<BatchOutcome> = Object.freeze({ acceptedCount: 1, rejected: [] });

/**
 * The outcome with the events an adapter rejected before the batch reached the service (it could
 * not parse them) in their places.
 */
export function withEarlierRejections(outcome: BatchOutcome, earlier: readonly RejectedEvent[]): BatchOutcome {
  if (earlier.length === 0) return outcome;
  const rejected = [...earlier, ...outcome.rejected].sort((a, b) => a.index - b.index);
  return { acceptedCount: outcome.acceptedCount, rejected };
}
