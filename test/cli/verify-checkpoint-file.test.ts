import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testSigner } from "../support/audit.ts";
import { runCli, tempDir } from "./run-cli.ts";
import { EVENTS, type LogTemplate, logTemplate, type TamperedLog, TENANT } from "./tampered-log.ts";

/**
 * Offline `chaukas verify --export` reads the checkpoint note from a file as tools save it:
 * `jq -r .checkpoint.note > cp.txt` adds a newline after the note's own last one.
 */

// Building the embedded log and running the CLI twice takes seconds on a loaded 2-core machine.
const SLOW = 120_000;

describe("offline chaukas verify with a saved checkpoint file", () => {
  const signer = testSigner();
  const dir = tempDir();
  let template: LogTemplate;
  let log: TamperedLog;
  let exported: string;
  let note: string;
  beforeAll(async () => {
    template = await logTemplate("embedded", signer);
    log = await template.copy();
    exported = join(dir.path, "acme.jsonl");
    const result = await runCli(["export", "--tenant", TENANT, ...log.storeArgs, "--out", exported]);
    expect(result.code).toBe(0);
    note = template.notes.get(BigInt(EVENTS)) ?? "";
  }, SLOW);
  afterAll(async () => {
    await log.drop();
    await template.drop();
    dir.remove();
  });

  const verifyWith = (text: string) => {
    const file = join(dir.path, "cp.txt");
    writeFileSync(file, text);
    return runCli(["verify", "--export", exported, "--checkpoint", file, "--public-key", signer.verifierKey]);
  };

  it(
    "accepts the note followed by one newline, as jq -r writes it",
    async () => {
      const result = await verifyWith(`${note}\n`);
      expect(result.stdout).toMatch(new RegExp(`^OK: ${EVENTS} entries, root \\S+; 1 signed checkpoint\\(s\\) verify`));
      expect(result.code).toBe(0);
    },
    SLOW,
  );

  it(
    "refuses more than one newline after it, and a note whose signed text differs",
    async () => {
      const twoMore = await verifyWith(`${note}\n\n`);
      expect(twoMore.code).toBe(1);
      expect(twoMore.stdout).toContain(`checkpoint ${EVENTS} does not verify: note has no signature lines`);

      const [origin, size, root, ...rest] = note.split("\n");
      const otherRoot = Buffer.from(root, "base64").reverse().toString("base64");
      const altered = await verifyWith(`${[origin, size, otherRoot, ...rest].join("\n")}\n`);
      expect(altered.code).toBe(1);
      expect(altered.stdout).toMatch(/checkpoint 40 does not verify: signature by \S+ does not verify/);
    },
    SLOW,
  );
});
