import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { equals } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Event, EventSchema } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import { formatSdkLine, parseSdkLine } from "../../src/codec/formats/sdk-jsonl.ts";
import { createTestDatabase } from "../support/databases.ts";
import { EVERY_CONTENT, fullEvent, withoutIntegrity } from "../support/events.ts";
import { CLI, runCli, tempDir } from "./run-cli.ts";
import { INPUT, LLM_END, SESSION_1, SESSION_2, TOOL_START } from "./sdk-file.ts";

const SLOW = 120_000;
const lines = (text: string) => text.split("\n").filter((l) => l !== "");

describe("chaukas import of an SDK file with good and bad lines (embedded store)", () => {
  const dir = tempDir();
  const dataDir = join(dir.path, "data");
  const file = join(dir.path, "events.jsonl");
  const exportAll = () => runCli(["export", "--tenant", "acme", "--data-dir", dataDir]);
  let first: Awaited<ReturnType<typeof runCli>>;
  let exported: string;

  beforeAll(async () => {
    const content = [
      LLM_END, // 1
      TOOL_START, // 2
      '{"event_id": "broken", "tenant_id": ', // 3: broken JSON
      '{"event_id": "no-tenant", "session_id": "s", "timestamp": "2025-01-31T12:00:00"}', // 4: required fields missing
      "", // 5: blank, skipped
      LLM_END, // 6: the same event again
      "[1, 2]", // 7: not an object
      TOOL_START.replace("EVENT_TYPE_TOOL_CALL_START", "EVENT_TYPE_BOGUS"), // 8: unknown enum name
      INPUT, // 9
    ];
    writeFileSync(file, `${content.join("\n")}\n`);
    first = await runCli(["import", file, "--data-dir", dataDir]);
    exported = (await exportAll()).stdout;
  }, SLOW);
  afterAll(() => dir.remove());

  it("reports each bad line by its number on stderr and exits 1", () => {
    expect(first.code).toBe(1);
    const reported = first.stderr.split("\n").filter((l) => l.startsWith("line "));
    expect(reported.map((l) => l.split(":")[0])).toEqual(["line 3", "line 4", "line 7", "line 8"]);
    expect(reported[1]).toMatch(/^line 4: .*tenant_id: is required.*project_id: is required.*type: is required/);
    expect(reported[2]).toBe("line 7: a line must hold one JSON object");
    expect(reported[3]).toContain("EVENT_TYPE_BOGUS");
    expect(first.stdout).toBe("");
  });

  it("prints a summary line", () => {
    expect(first.stderr).toMatch(
      new RegExp(
        `^imported ${file}: 9 lines, 4 events accepted \\(already stored ones are kept once\\), 4 bad lines, \\d+\\.\\d s$`,
        "m",
      ),
    );
  });

  it("stores each good event once, exported oldest first in the SDK's own line format", () => {
    const out = lines(exported).map((l) => JSON.parse(l));
    // As imported, plus the integrity fields the server assigned (hash_prev depends on import order).
    for (const line of out) delete line.hash_prev;
    const hashed = (l: string) => ({ ...JSON.parse(l), content_hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(out).toEqual([LLM_END, TOOL_START, INPUT].map(hashed));
    expect(out[0].timestamp).toBe("2025-01-31T12:00:00.123456");
    expect(out[1].timestamp).toBe("2025-01-31T12:00:01");
  });

  it("reads the naive timestamps as UTC, to the microsecond", () => {
    const [llm] = lines(exported).map(parseSdkLine);
    expect(llm.timestamp).toMatchObject({ seconds: BigInt(Date.UTC(2025, 0, 31, 12) / 1000), nanos: 123_456_000 });
  });

  it(
    "adds nothing when the same file is imported again",
    async () => {
      const again = await runCli(["import", file, "--data-dir", dataDir]);
      expect(again.code).toBe(1);
      expect((await exportAll()).stdout).toBe(exported);
    },
    SLOW,
  );

  it(
    "export --out writes the file and names it in the summary",
    async () => {
      const out = join(dir.path, "out.jsonl");
      const result = await runCli(["export", "--tenant", "acme", "--data-dir", dataDir, "--out", out]);
      expect(result.code).toBe(0);
      expect(result.stdout).toBe("");
      expect(result.stderr.trim()).toBe(`exported 3 events to ${out}`);
      expect(readFileSync(out, "utf8")).toBe(exported);
    },
    SLOW,
  );

  it(
    "export --out into a missing directory or onto a directory fails in one line",
    async () => {
      const nowhere = join(dir.path, "nodir", "x.jsonl");
      for (const [out, problem] of [
        [nowhere, `cannot write ${nowhere}: no such directory`],
        [dir.path, `cannot write ${dir.path}: it is a directory`],
      ]) {
        const result = await runCli(["export", "--tenant", "acme", "--data-dir", dataDir, "--out", out]);
        expect(result).toEqual({ code: 1, stdout: "", stderr: `chaukas: ${problem}\n` });
      }
    },
    SLOW,
  );
});

describe("chaukas export into a reader that goes away (PostgreSQL)", () => {
  const dir = tempDir();
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  beforeAll(async () => {
    db = await createTestDatabase();
    const file = join(dir.path, "many.jsonl");
    const id = JSON.parse(LLM_END).event_id;
    // Megabytes of output: far more than a pipe holds once its reader has gone.
    const many = Array.from({ length: 3000 }, (_, i) =>
      LLM_END.replace(id, `${id.slice(0, -6)}${String(i).padStart(6, "0")}`),
    );
    writeFileSync(file, `${many.join("\n")}\n`);
    expect((await runCli(["import", file], { DATABASE_URL: db.url })).code).toBe(0);
  }, SLOW);
  afterAll(async () => {
    dir.remove();
    await db.drop();
  });

  it("stops quietly and exits 0, as cat piped into head does", () => {
    const piped = spawnSync(
      "bash",
      ["-o", "pipefail", "-c", `"${process.execPath}" "${CLI}" export --tenant acme | head -1 >/dev/null`],
      { env: { ...process.env, DATABASE_URL: db.url, CHAUKAS_DATA_DIR: "" }, encoding: "utf8", timeout: SLOW },
    );
    expect({ status: piped.status, stderr: piped.stderr }).toEqual({ status: 0, stderr: "" });
  });
});

describe("chaukas export filters (PostgreSQL, chosen by DATABASE_URL)", () => {
  const dir = tempDir();
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  beforeAll(async () => {
    db = await createTestDatabase();
    const file = join(dir.path, "events.jsonl");
    writeFileSync(file, `${[LLM_END, TOOL_START, INPUT].join("\n")}\n`);
    expect((await runCli(["import", file], { DATABASE_URL: db.url })).code).toBe(0);
  });
  afterAll(async () => {
    dir.remove();
    await db.drop();
  });

  it(
    "--session, --project, --since and --until select events",
    async () => {
      const ids = async (...flags: string[]) => {
        const result = await runCli(["export", "--tenant", "acme", ...flags], { DATABASE_URL: db.url });
        expect(result.code).toBe(0);
        expect(result.stderr).toMatch(/^exported \d+ events?$/m);
        return lines(result.stdout).map((l) => JSON.parse(l).event_id);
      };
      const [llm, tool, input] = [LLM_END, TOOL_START, INPUT].map((l) => JSON.parse(l).event_id);
      expect(await ids("--session", SESSION_1)).toEqual([llm, tool]);
      expect(await ids("--session", SESSION_2)).toEqual([input]);
      expect(await ids("--project", "other-bot")).toEqual([input]);
      // Naive times mean UTC, as in the SDK's files; --since is inclusive, --until exclusive.
      expect(await ids("--since", "2025-01-31T12:00:01")).toEqual([tool, input]);
      expect(await ids("--since", "2025-01-31T13:00:00.5+01:00")).toEqual([tool, input]);
      expect(await ids("--until", "2025-01-31T12:00:01Z")).toEqual([llm]);
      expect(await ids("--since", "2025-01-31T12:00:00.123457", "--until", "2025-01-31T12:00:02")).toEqual([tool]);
    },
    SLOW,
  );
});

describe("export then import into an empty store round-trips", () => {
  const dir = tempDir();
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  const events: Event[] = EVERY_CONTENT.map((content, i) => {
    const event = fullEvent(content);
    Object.assign(event, { tenantId: "round", sessionId: `s-${i % 3}` });
    return event;
  });
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    dir.remove();
    await db.drop();
  });

  it(
    "from the embedded store to PostgreSQL and back, losslessly",
    async () => {
      const source = join(dir.path, "source.jsonl");
      writeFileSync(source, `${events.map(formatSdkLine).join("\n")}\n`);
      const embedded = ["--data-dir", join(dir.path, "data")];
      expect((await runCli(["import", source, ...embedded])).code).toBe(0);
      const fromEmbedded = join(dir.path, "a.jsonl");
      expect((await runCli(["export", "--tenant", "round", "--out", fromEmbedded, ...embedded])).code).toBe(0);

      // Into PostgreSQL: chosen by DATABASE_URL for the import, by --database-url for the export.
      const imported = await runCli(["import", fromEmbedded], { DATABASE_URL: db.url });
      expect(imported.code).toBe(0);
      expect(imported.stderr).toContain(`${events.length} events accepted`);
      const fromPostgres = join(dir.path, "b.jsonl");
      const exported = await runCli(["export", "--tenant", "round", "--out", fromPostgres, "--database-url", db.url]);
      expect(exported.stderr.trim()).toBe(`exported ${events.length} events to ${fromPostgres}`);

      // Byte for byte the same events, with the same content hashes: only each log's own chain
      // (hash_prev, which follows the order events reached that log) may differ.
      const withoutChain = (file: string) => readFileSync(file, "utf8").replaceAll(/"hash_prev":"[0-9a-f]*",/g, "");
      expect(withoutChain(fromPostgres)).toBe(withoutChain(fromEmbedded));
      const back = lines(readFileSync(fromPostgres, "utf8")).map(parseSdkLine);
      const byId = new Map(back.map((e) => [e.eventId, e]));
      expect(back).toHaveLength(events.length);
      for (const event of events) {
        expect(equals(EventSchema, withoutIntegrity(byId.get(event.eventId) as Event), event)).toBe(true);
      }
    },
    SLOW,
  );
});
