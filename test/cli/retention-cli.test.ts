import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli, tempDir } from "./run-cli.ts";

/** `chaukas retention` and `chaukas erase`, the real CLI on an embedded data directory. */

const EXAMPLES = new URL("../../docs/examples/events.jsonl", import.meta.url).pathname;

describe("chaukas retention and erase", () => {
  const dir = tempDir();
  const dataDir = join(dir.path, "data");
  const cli = (...args: string[]) => runCli([...args, "--data-dir", dataDir]);
  afterAll(() => dir.remove());

  it("sets, shows and applies periods, erases by session, and refuses an erasure of everything", {
    timeout: 180_000,
  }, async () => {
    expect((await cli("import", EXAMPLES)).code).toBe(0);
    const shown = await cli("retention", "show", "--tenant", "acme");
    expect(shown.stdout).toContain("tenant acme keeps its events' content forever");

    const set = await cli("retention", "set", "--tenant", "acme", "--project", "web", "--days", "7", "--by", "ops");
    expect(set.code).toBe(0);
    expect(set.stdout).toMatch(/^project web\t7 days\tset by ops at /m);

    const erased = await cli("erase", "--tenant", "acme", "--request", "REQ-1");
    expect(erased.code).toBe(1);
    expect(erased.stderr).toContain("name a session, an agent, event ids or a tag");

    // The example events are from 2026-11-25: older than 7 days by the time anyone runs this.
    const run = await cli("retention", "run");
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/purged 5 event\(s\) in 1 purge\(s\)/);
    // Nothing is left to erase: purged events are not taken twice.
    const again = await cli(
      "erase",
      "--tenant",
      "acme",
      "--request",
      "REQ-2",
      "--session",
      "0199e1a0-0000-7000-8000-0000000000f1",
    );
    expect(again.stderr).toContain("erased 0 event(s)");
  });
});
