import { once } from "node:events";
import type { Writable } from "node:stream";
import { formatSdkLine } from "../codec/formats/sdk-jsonl.ts";
import { storedEventForJson } from "../core/event-record.ts";
import type { EventCursor, EventFilter, EventReader } from "../store/event-store.ts";
import { ALL_TENANTS } from "../store/tenant-scope.ts";
import { Progress } from "./progress.ts";

const PAGE_SIZE = 1000;

/**
 * Writes every event matching the filter, oldest first, as JSON Lines in the SDK's file format
 * with their integrity fields (what `chaukas verify --export` checks), page by page (constant memory, and the output stream's backpressure is respected).
 * Returns how many events were written.
 */
export async function exportJsonl(store: EventReader, filter: EventFilter, out: Writable): Promise<number> {
  const total = filter.sessionId || filter.textQuery ? undefined : await countEvents(store, filter);
  const progress = new Progress("exporting");
  let written = 0;
  let after: EventCursor | undefined;
  for (;;) {
    const page = await store.queryEvents(ALL_TENANTS, { filter, ascending: true, limit: PAGE_SIZE, after });
    for (const row of page) {
      if (!out.write(`${formatSdkLine(storedEventForJson(row))}\n`)) await once(out, "drain");
    }
    written += page.length;
    progress.update(written, total ? written / total : undefined);
    if (page.length < PAGE_SIZE) break;
    after = page[page.length - 1];
  }
  progress.done();
  return written;
}

async function countEvents(store: EventReader, filter: EventFilter): Promise<number> {
  const stats = await store.eventStats(ALL_TENANTS, filter);
  return Number(stats.totalEvents);
}
