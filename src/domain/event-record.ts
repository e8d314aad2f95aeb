import { toBinary } from "@bufbuild/protobuf";
import { type Event, EventSchema } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import type { EventRecord } from "../store/event-store.ts";
import { searchText } from "./search-text.ts";
import { timestampToNs } from "./timestamps.ts";

/** Maps a validated event to what the store keeps: index columns plus the whole message. */
export function toEventRecord(event: Event): EventRecord {
  return {
    tenantId: event.tenantId,
    eventId: event.eventId,
    projectId: event.projectId,
    sessionId: event.sessionId,
    traceId: event.traceId,
    spanId: event.spanId,
    agentId: event.agentId,
    type: event.type,
    status: event.status,
    severity: event.severity,
    // biome-ignore lint/style/noNonNullAssertion: validated by eventViolations
    timestampNs: timestampToNs(event.timestamp!),
    tags: event.tags,
    searchText: searchText(event),
    payload: toBinary(EventSchema, event),
  };
}
