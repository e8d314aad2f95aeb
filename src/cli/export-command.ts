import { once } from "node:events";
import type { Writable } from "node:stream";
import type { EventFilter } from "../store/event-store.ts";
import type { AdminBackend } from "./admin-backend.ts";
import { Progress } from "./progress.ts";

/**
 * Writes every event matching the filter, oldest first, as JSON Lines in the SDK's file format
 * with their integrity fields (what `chaukas verify --export` checks), page by page (constant
 * memory, and the output stream's backpressure is respected). Returns how many events were written.
 */
export async function exportJsonl(admin: AdminBackend, filter: EventFilter, out: Writable): Promise<number> {
  const progress = new Progress("exporting");
  let written = 0;
  let total: number | undefined;
  for await (const page of admin.exportEvents(filter)) {
    total ??= page.totalEvents;
    for (const line of page.lines) {
      if (!out.write(`${line}\n`)) await once(out, "drain");
    }
    written += page.lines.length;
    progress.update(written, total ? written / total : undefined);
  }
  progress.done();
  return written;
}
