import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { exitOf, killServerProcesses, startServerProcess } from "../kit/server-process.ts";

/** What --rate-limit does in the server process (npm start); the bucket itself: test/core/rate-limiter.test.ts. */
describe("--rate-limit", () => {
  const root = mkdtempSync(join(tmpdir(), "chaukas-rate-"));
  afterAll(() => {
    killServerProcesses();
    rmSync(root, { recursive: true, force: true });
  });

  /** The HTTP statuses of `n` GET /v1/capabilities in a row with the first admin key, on a server given `rate`. */
  async function statuses(rate: string, n: number): Promise<number[]> {
    const dataDir = join(root, `rate-${rate}`);
    const server = await startServerProcess(["--data-dir", dataDir, "--rate-limit", rate]);
    try {
      const key = readFileSync(join(dataDir, "admin-key"), "utf8").trim();
      const answers: number[] = [];
      for (let i = 0; i < n; i++) {
        const res = await fetch(`${server.baseUrl}/v1/capabilities`, { headers: { authorization: `Bearer ${key}` } });
        await res.arrayBuffer();
        answers.push(res.status);
      }
      return answers;
    } finally {
      server.child.kill("SIGTERM");
      await exitOf(server.child);
    }
  }

  it("0 turns the limit off: a burst of requests is all served", { timeout: 60_000 }, async () => {
    expect(new Set(await statuses("0", 20))).toEqual(new Set([200]));
  });

  // One a second, bursts of two: 20 requests in a row take far less than the 18 s that would
  // refill enough tokens for all of them, however loaded the machine.
  it("1 refuses the requests past its burst with 429", { timeout: 60_000 }, async () => {
    const answers = await statuses("1", 20);
    expect(answers.slice(0, 2)).toEqual([200, 200]);
    expect(answers).toContain(429);
  });
});
