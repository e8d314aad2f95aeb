import type { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { EventFilter } from "../store/event-store.ts";
import type { AdminBackend } from "./admin-backend.ts";
import { Progress } from "./progress.ts";

/**
 * Writes every event matching the filter, oldest first, as JSON Lines in the SDK's file format
 * with their integrity fields (what `chaukas verify --export` checks), page by page (constant
 * memory, and the output stream's backpressure is respected), then ends `out`. A failing output
 * (a full disk, a reader gone) stops the export with its error. Returns how many events were written.
 */
export async function exportJsonl(admin: AdminBackend, filter: EventFilter, out: Writable): Promise<number> {
  const progress = new Progress("exporting");
  let written = 0;
  async function* pages(): AsyncGenerator<string> {
    let total: number | undefined;
    for await (const page of admin.exportEvents(filter)) {
      total ??= page.totalEvents;
      if (page.lines.length > 0) yield `${page.lines.join("\n")}\n`;
      written += page.lines.length;
      progress.update(written, total ? written / total : undefined);
    }
  }
  await pipeline(pages(), out);
  progress.done();
  return written;
}
