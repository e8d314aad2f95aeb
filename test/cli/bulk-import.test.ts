import { once } from "node:events";
import { createReadStream, createWriteStream } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, expect, it } from "vitest";
import { runCli, tempDir } from "./run-cli.ts";
import { bulkLine } from "./sdk-file.ts";

const LINES = 20_000;
const dir = tempDir();
afterAll(() => dir.remove());

/** Writes the file as a stream too, so the test itself does not hold it in memory. */
async function writeBulkFile(path: string): Promise<void> {
  const out = createWriteStream(path);
  for (let i = 0; i < LINES; i++) {
    if (!out.write(`${bulkLine(i)}\n`)) await once(out, "drain");
  }
  out.end();
  await once(out, "finish");
}

it(`imports a file of ${LINES} lines streamed in batches, exports the same count, and logs each once`, async () => {
  const file = join(dir.path, "bulk.jsonl");
  await writeBulkFile(file);
  const dataDir = ["--data-dir", join(dir.path, "data")];

  const imported = await runCli(["import", file, ...dataDir]);
  expect(imported.code).toBe(0);
  expect(imported.stderr).toMatch(new RegExp(`: ${LINES} lines, ${LINES} events accepted .*, 0 bad lines, `));

  const out = join(dir.path, "out.jsonl");
  const exported = await runCli(["export", "--tenant", "bulk", "--out", out, ...dataDir]);
  expect(exported.stderr.trim()).toBe(`exported ${LINES} events to ${out}`);
  const seen = new Set<string>();
  const contentHashes = new Set<string>();
  const previous: string[] = [];
  for await (const line of createInterface({ input: createReadStream(out) })) {
    const event = JSON.parse(line);
    seen.add(event.event_id);
    contentHashes.add(event.content_hash);
    previous.push(event.hash_prev ?? "");
  }
  expect(seen.size).toBe(LINES);
  expect(seen.has("bulk-0") && seen.has(`bulk-${LINES - 1}`)).toBe(true);
  // Appended to the log as the import went (its queue is bounded) and at its end: one chain of
  // every event, each after another but the first.
  expect(previous.filter((hash) => hash === "")).toHaveLength(1);
  expect(new Set(previous.filter((hash) => contentHashes.has(hash))).size).toBe(LINES - 1);
}, 300_000);
