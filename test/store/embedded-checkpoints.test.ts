import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { EmbeddedCheckpoints } from "../../src/store/sql/embedded-checkpoints.ts";
import { openDatabase } from "../../src/store/sql/open-store.ts";
import { embeddedPoolConfig } from "../../src/store/sql/pglite-connection.ts";
import { DEFAULT_EMBEDDED_CACHE_MB, pgliteOptions } from "../../src/store/sql/pglite-options.ts";
import { ALL_TENANTS } from "../../src/store/tenant-scope.ts";
import { eventRecord } from "../support/records.ts";

const MiB = 1024 * 1024;
const quiet = { error: () => {} };

/** PGlite runs PostgreSQL single-user, which never checkpoints while it runs. */
describe("the embedded database's checkpoints", () => {
  const opened: { dir: string; db: PGlite; pool: pg.Pool }[] = [];
  afterEach(async () => {
    for (const { dir, db, pool } of opened.splice(0)) {
      await pool.end();
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  /** A data directory of its own, as the embedded store opens it, with a table to write to. */
  const open = async () => {
    const dir = mkdtempSync(join(tmpdir(), "chaukas-checkpoints-"));
    const db = await PGlite.create(dir, pgliteOptions(DEFAULT_EMBEDDED_CACHE_MB));
    const pool = new pg.Pool(embeddedPoolConfig(db));
    opened.push({ dir, db, pool });
    await pool.query("CREATE TABLE notes (body text)");
    const wal = async () => {
      const { rows } = await pool.query<{ redo: string; written: number }>(
        "SELECT redo_lsn::text AS redo, (pg_current_wal_lsn() - redo_lsn)::float8 AS written FROM pg_control_checkpoint()",
      );
      return { redo: rows[0].redo, written: Number(rows[0].written) };
    };
    return {
      pool,
      wal,
      /** The log's segment files on disk. */
      segments: () => readdirSync(join(dir, "pg_wal")).filter((name) => /^[0-9A-F]{24}$/.test(name)).length,
      /** Rows of about 1 KiB until at least `bytes` more of log were written. */
      write: async (bytes: number) => {
        const { written } = await wal();
        while ((await wal()).written - written < bytes) {
          await pool.query("INSERT INTO notes SELECT repeat(md5(g::text), 30) FROM generate_series(1, 4000) g");
        }
      },
    };
  };

  it("runs CHECKPOINT once the log since the last one reaches the bound, and not before", async () => {
    const { pool, wal, write } = await open();
    const checkpoints = new EmbeddedCheckpoints(pool, quiet, { walBytes: 24 * MiB, everyMs: 60_000 });
    const start = await wal();
    await write(8 * MiB);
    expect(await checkpoints.runRound()).toBe(false);
    expect((await wal()).redo).toBe(start.redo);
    await write(24 * MiB);
    expect(await checkpoints.runRound()).toBe(true);
    const after = await wal();
    expect(after.redo).not.toBe(start.redo);
    expect(after.written).toBeLessThan(MiB);
    expect(await checkpoints.runRound()).toBe(false);
  });

  it("keeps the log a few segments long under sustained writes; without it every segment stays", async () => {
    const without = await open();
    const startRedo = (await without.wal()).redo;
    await without.write(320 * MiB);
    // Twenty segments of 16 MiB written, none checkpointed: all of them are still on disk.
    expect((await without.wal()).redo).toBe(startRedo);
    expect(without.segments()).toBeGreaterThanOrEqual(20);
    // Its first checkpoint keeps what max_wal_size (128 MiB) allows past it and removes the rest.
    expect(await new EmbeddedCheckpoints(without.pool, quiet, { walBytes: MiB, everyMs: 60_000 }).runRound()).toBe(
      true,
    );
    expect(without.segments()).toBeLessThanOrEqual(9);

    const checked = await open();
    // The embedded store's setting: segments are kept for reuse up to 128 MiB past the last checkpoint.
    expect((await checked.pool.query("SHOW max_wal_size")).rows[0].max_wal_size).toBe("128MB");
    const checkpoints = new EmbeddedCheckpoints(checked.pool, quiet, { walBytes: 32 * MiB, everyMs: 60_000 });
    const counts: number[] = [];
    let ran = 0;
    for (let i = 0; i < 20; i++) {
      await checked.write(16 * MiB);
      if (await checkpoints.runRound()) ran++;
      counts.push(checked.segments());
    }
    expect(ran).toBeGreaterThanOrEqual(9);
    // Segments behind each checkpoint are renamed for reuse, about min_wal_size (80 MiB) past it.
    expect(Math.max(...counts)).toBeLessThanOrEqual(6);
  }, 120_000);
});

describe("the embedded store", () => {
  /**
   * The latest checkpoint's position, from the control file PostgreSQL rewrites at each checkpoint
   * (ControlFileData: system id, two versions, state, time, then the checkpoint's LSN at byte 32).
   */
  const latestCheckpoint = (dataDir: string) => readFileSync(join(dataDir, "global", "pg_control")).readBigUInt64LE(32);

  it("checkpoints while it serves once 64 MiB of log are written", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "chaukas-checkpoints-"));
    const store = await openDatabase({ kind: "embedded", dataDir }, { info: () => {}, error: () => {} });
    try {
      const opened = latestCheckpoint(dataDir);
      // 80 MiB of payloads that do not compress: more than 64 MiB of log.
      for (let batch = 0; batch < 40; batch++) {
        const records = Array.from({ length: 128 }, (_, i) =>
          eventRecord({ tenantId: "acme", eventId: `e${batch}-${i}`, payload: randomBytes(16 << 10) }),
        );
        await store.insertEvents(ALL_TENANTS, records);
      }
      // The checkpointer reads the log's length every 2 s; the margin is for a busy machine.
      const deadline = Date.now() + 20_000;
      while (latestCheckpoint(dataDir) === opened && Date.now() < deadline) await sleep(200);
      expect(latestCheckpoint(dataDir)).toBeGreaterThan(opened);
    } finally {
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
