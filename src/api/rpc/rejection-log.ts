import type { RejectedEvent } from "../../core/batch-outcome.ts";

export interface RejectionLog {
  warn(obj: object, msg: string): void;
}

/** The batch responses carry only the rejected ids; the reasons go to the log, one line per batch. */
export function logRejections(log: RejectionLog, batchId: string, rejected: readonly RejectedEvent[]): void {
  if (rejected.length > 0) log.warn({ batchId, rejected }, `rejected ${rejected.length} event(s) of a batch`);
}
