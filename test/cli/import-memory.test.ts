import { once } from "node:events";
import { createWriteStream, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createTestDatabase, storeKinds } from "../support/databases.ts";
import { runCli, tempDir } from "./run-cli.ts";

const LINES = 75_000;
/** About 6 KiB a line: a model request body, which the full-text index leaves out (cheap to store). */
const PROMPT = "lorem ipsum dolor sit amet ".repeat(220);
/** The heap the CLI may use: far less than the file, so holding the file would fail. */
const HEAP_MIB = 96;
/**
 * The bound on the importer's peak resident memory, below the file's ~445 MiB. Measured: ~140 MiB
 * for a file of 1000 lines, ~270-300 MiB for files of 160 to 430 MiB alike (what a batch of 1000
 * events costs on top of Node, pg and the code): it does not grow with the file.
 */
const PEAK_RSS_BOUND_MIB = 360;
const REPORT_PEAK = join(import.meta.dirname, "report-peak-rss.ts");

async function writeBigFile(path: string): Promise<void> {
  const out = createWriteStream(path);
  for (let i = 0; i < LINES; i++) {
    const line = JSON.stringify({
      event_id: `big-${i}`,
      tenant_id: "big",
      project_id: "p",
      session_id: `s-${i % 50}`,
      type: "EVENT_TYPE_MODEL_INVOCATION_END",
      status: "EVENT_STATUS_COMPLETED",
      timestamp: `2025-02-01T10:00:00.${String(i).padStart(6, "0")}`,
      llm_invocation: { provider: "openai", model: "m", request: { prompt: `${PROMPT}${i}` } },
    });
    if (!out.write(`${line}\n`)) await once(out, "drain");
  }
  out.end();
  await once(out, "finish");
}

// PostgreSQL as the store, so the memory measured is the importer's alone (PGlite would run inside it).
describe.runIf((await storeKinds()).includes("postgres"))("chaukas import of a file larger than its memory", () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  // Writing and importing ~445 MiB: seconds alone, much longer on a loaded machine.
  const timeout = 300_000;
  it(`streams it: peak RSS stays under ${PEAK_RSS_BOUND_MIB} MiB with a ${HEAP_MIB} MiB heap`, {
    timeout,
  }, async () => {
    const file = join(dir.path, "big.jsonl");
    await writeBigFile(file);
    const fileMib = statSync(file).size / 2 ** 20;
    expect(fileMib).toBeGreaterThan(PEAK_RSS_BOUND_MIB * 1.15);

    const db = await createTestDatabase();
    try {
      const result = await runCli(["import", file], {
        DATABASE_URL: db.url,
        NODE_OPTIONS: `--max-old-space-size=${HEAP_MIB} --import=${REPORT_PEAK}`,
      });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toContain(`${LINES} events accepted`);
      const peakKib = Number(/^peak-rss-kib (\d+)$/m.exec(result.stderr)?.[1]);
      expect(peakKib).toBeGreaterThan(0);
      expect(peakKib / 1024, `peak RSS in MiB, importing ${fileMib.toFixed(0)} MiB`).toBeLessThan(PEAK_RSS_BOUND_MIB);
    } finally {
      await db.drop();
    }
  });
});
