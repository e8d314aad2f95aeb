import { createHash } from "node:crypto";
import { NO_USAGE } from "../../src/codec/event-usage.ts";
import type { EventRecord } from "../../src/store/event-store.ts";

/**
 * A stored-form event for tests that talk to the store directly; the payload defaults to the id's
 * bytes and the content hash to the payload's SHA-256.
 */
export function eventRecord(
  init: Partial<Omit<EventRecord, "contentHash">> & { tenantId: string; eventId: string },
): EventRecord {
  const record = {
    projectId: "web",
    sessionId: "session-1",
    traceId: "",
    spanId: "",
    agentId: "",
    type: 10,
    status: 1,
    severity: 2,
    timestampNs: 1_764_072_000_000_000_000n,
    tags: [],
    searchText: "",
    usage: NO_USAGE,
    payload: new TextEncoder().encode(init.eventId),
    ...init,
  };
  return { ...record, contentHash: createHash("sha256").update(record.payload).digest() };
}
