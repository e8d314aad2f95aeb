import type pg from "pg";
import { PeriodicTask } from "../../lib/periodic-task.ts";

export interface CheckpointRule {
  /** A CHECKPOINT runs once this many bytes of write-ahead log were written since the last one... */
  walBytes: number;
  /** ...as read every this many milliseconds. */
  everyMs: number;
}

/** How much log a checkpoint waits for, in MiB. */
export const CHECKPOINT_WAL_MIB = 64;

/** 64 MiB, read every 2 s; see docs/adr/0045-embedded-checkpoints.md. */
export const DEFAULT_CHECKPOINT_RULE: CheckpointRule = { walBytes: CHECKPOINT_WAL_MIB * 1024 * 1024, everyMs: 2_000 };

export interface CheckpointLog {
  error: (obj: unknown, msg: string) => void;
}

/**
 * The embedded database's checkpointer. PGlite runs PostgreSQL single-user, which has no
 * checkpointer process and never checkpoints while it runs: without this the write-ahead log keeps
 * every byte written since the server started, a crash replays all of it, and every 16 MiB segment
 * is a new file, zero-filled through PGlite's JavaScript file layer. After a checkpoint PostgreSQL
 * renames the segments behind it for reuse, so the log stays a few segments long.
 */
export class EmbeddedCheckpoints {
  readonly #pool: pg.Pool;
  readonly #log: CheckpointLog;
  readonly #rule: CheckpointRule;
  #rounds: PeriodicTask | undefined;

  constructor(pool: pg.Pool, log: CheckpointLog, rule: CheckpointRule = DEFAULT_CHECKPOINT_RULE) {
    this.#pool = pool;
    this.#log = log;
    this.#rule = rule;
  }

  /** Reads how much log was written since the last checkpoint; true when that was enough to run one. */
  async runRound(): Promise<boolean> {
    const { rows } = await this.#pool.query<{ written: number }>(
      "SELECT (pg_current_wal_lsn() - redo_lsn)::float8 AS written FROM pg_control_checkpoint()",
    );
    if (rows[0].written < this.#rule.walBytes) return false;
    await this.#pool.query("CHECKPOINT");
    return true;
  }

  start(): void {
    this.#rounds = new PeriodicTask(
      () =>
        this.runRound().then(
          () => {},
          (err) => this.#log.error(err, "embedded database checkpoint failed; trying again next round"),
        ),
      this.#rule.everyMs,
    );
    this.#rounds.start(this.#rule.everyMs);
  }

  /** Stops the rounds and waits for one under way; closing the database checkpoints it last. */
  async stop(): Promise<void> {
    await this.#rounds?.stop();
  }
}
