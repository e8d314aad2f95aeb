import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { expect } from "vitest";
import type { Event } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import { type QueryRequest, QueryRequestSchema, SortOrder } from "../../gen/chaukas/spec/common/v1/query_pb.ts";
import { eventService } from "../../src/app.ts";
import { UNRESTRICTED } from "../../src/core/access.ts";
import type { EventPage } from "../../src/core/event-page.ts";
import { fromStoredEvent } from "../../src/core/event-record.ts";
import type { EventService } from "../../src/core/event-service.ts";
import { InvalidArgumentError } from "../../src/lib/errors.ts";
import { timestampToNs } from "../../src/lib/timestamps.ts";
import type { Database } from "../../src/store/database.ts";

export type QueryInit = MessageInitShape<typeof QueryRequestSchema>;

/** The domain service over `store`, with a fresh page-token key. */
export function serviceOver(store: Database): EventService {
  return eventService(store);
}

export { nsToTimestamp } from "../../src/lib/timestamps.ts";

export function eventNs(event: Event): bigint {
  // biome-ignore lint/style/noNonNullAssertion: every test event has a timestamp
  return timestampToNs(event.timestamp!);
}

/** Bytewise comparison, as the store's COLLATE "C" orders ids (test ids are ASCII). */
function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The store's order: timestamp, then event_id; `descending` reverses both. */
export function byTime(descending = false): (a: Event, b: Event) => number {
  return (a, b) => {
    const ta = eventNs(a);
    const tb = eventNs(b);
    const order = ta < tb ? -1 : ta > tb ? 1 : compareIds(a.eventId, b.eventId);
    return descending ? -order : order;
  };
}

export function ids(events: readonly { eventId: string }[]): string[] {
  return events.map((e) => e.eventId);
}

/** Every event matching `query`, page after page; also returns how many pages it took. */
export async function queryAll(
  service: EventService,
  query: QueryInit,
  between?: () => Promise<void>,
): Promise<{ events: Event[]; pages: EventPage[] }> {
  const events: Event[] = [];
  const pages: EventPage[] = [];
  let pageToken = "";
  do {
    const page = await service.queryEvents(UNRESTRICTED, request({ ...query, pageToken }));
    pages.push(page);
    events.push(...page.events.map(fromStoredEvent));
    pageToken = page.nextPageToken;
    if (pageToken && between) await between();
  } while (pageToken);
  return { events, pages };
}

export function request(init: QueryInit): QueryRequest {
  return create(QueryRequestSchema, { orderByTime: SortOrder.ASC, ...init });
}

/** Asserts that `promise` rejects with an InvalidArgumentError naming `field`. */
export async function expectInvalid(promise: Promise<unknown>, field: string): Promise<InvalidArgumentError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InvalidArgumentError);
  const invalid = err as InvalidArgumentError;
  expect(invalid.violations.map((v) => v.field)).toContain(field);
  return invalid;
}
