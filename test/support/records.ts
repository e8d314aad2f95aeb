import type { EventRecord } from "../../src/store/event-store.ts";

/** A stored-form event for tests that talk to the store directly; the payload defaults to the id's bytes. */
export function eventRecord(init: Partial<EventRecord> & { tenantId: string; eventId: string }): EventRecord {
  return {
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
    payload: new TextEncoder().encode(init.eventId),
    ...init,
  };
}
