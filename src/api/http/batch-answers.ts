import type { BatchOutcome } from "../../core/batch-outcome.ts";

/** A batch's outcome as the Python SDK's routes answer it (sdk-routes.ts). */
export function sdkBatchAnswer(outcome: BatchOutcome) {
  return { accepted: outcome.acceptedCount, rejected: outcome.rejected.length, ...rejectionsJson(outcome) };
}

/** A batch's outcome as the REST API answers it (rest-routes.ts; openapi.ts describes it). */
export function restBatchAnswer(batchId: string, outcome: BatchOutcome) {
  return {
    batch_id: batchId,
    accepted_count: outcome.acceptedCount,
    rejected_count: outcome.rejected.length,
    ...rejectionsJson(outcome),
  };
}

function rejectionsJson({ rejected }: BatchOutcome) {
  return {
    rejected_event_ids: rejected.map((r) => r.eventId),
    rejections: rejected.map((r) => ({ event_id: r.eventId, reason: r.reason })),
  };
}
