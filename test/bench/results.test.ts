import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";

const RESULTS = join(import.meta.dirname, "..", "..", "bench", "results");
const RUN = join(import.meta.dirname, "..", "..", "bench", "run.ts");
const README = join(RESULTS, "..", "README.md");
const runs = readdirSync(RESULTS).filter((name) => name.endsWith(".json"));

describe("bench/results", () => {
  const dir = mkdtempSync(join(tmpdir(), "chaukas-bench-results-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("every run is named by its UTC start and its parts", () => {
    expect(runs.length).toBeGreaterThan(0);
    for (const name of runs) {
      const { startedAt } = JSON.parse(readFileSync(join(RESULTS, name), "utf8"));
      const stamp = `${startedAt.slice(0, 16).replace(":", "")}Z`;
      expect(name.startsWith(`${stamp}-`), name).toBe(true);
    }
  });

  test.each(runs)("%s: its tables are what --render makes of it, the targets judged by this version", (name) => {
    const json = join(dir, name);
    copyFileSync(join(RESULTS, name), json);
    const render = spawnSync(process.execPath, [RUN, "--render", json], { encoding: "utf8" });
    expect(render.status, render.stderr).toBe(0);
    const md = name.replace(/\.json$/, ".md");
    expect(readFileSync(join(dir, md), "utf8")).toBe(readFileSync(join(RESULTS, md), "utf8"));
  });

  test("bench/README.md lists every run and shows the targets as judged on the latest full run", () => {
    const readme = readFileSync(README, "utf8");
    for (const name of runs) expect(readme, name).toContain(`(results/${name.replace(/\.json$/, ".md")})`);
    const latestFull =
      runs
        .filter((name) => name.endsWith("-full.json"))
        .sort()
        .at(-1) ?? "";
    const tables = readFileSync(join(RESULTS, latestFull.replace(/\.json$/, ".md")), "utf8").split("\n\n");
    expect(readme).toContain(tables[1].trim());
  });
});
