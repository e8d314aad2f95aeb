import { createReadStream, type ReadStream } from "node:fs";
import { createInterface } from "node:readline";
import type { Event } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import { parseSdkLine } from "../codec/formats/sdk-jsonl.ts";

/** One non-blank line of an SDK JSON Lines file: its event, or why it is not one. */
export type SdkFileLine = { lineNumber: number; event: Event } | { lineNumber: number; problem: string };

/**
 * Reads an SDK JSON Lines file (the Python SDK's file mode, or `chaukas export`) line by line, in
 * constant memory. `input` is exposed so callers can show progress (`input.bytesRead`).
 */
export function readSdkFile(file: string): { input: ReadStream; lines: AsyncGenerator<SdkFileLine> } {
  const input = createReadStream(file);
  async function* lines(): AsyncGenerator<SdkFileLine> {
    let lineNumber = 0;
    for await (const line of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
      lineNumber++;
      if (line.trim() === "") continue;
      try {
        yield { lineNumber, event: parseSdkLine(line) };
      } catch (err) {
        yield { lineNumber, problem: (err as Error).message };
      }
    }
  }
  return { input, lines: lines() };
}
