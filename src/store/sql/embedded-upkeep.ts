import { setTimeout as sleep } from "node:timers/promises";
import type pg from "pg";
import { PeriodicTask } from "../../lib/periodic-task.ts";

export interface UpkeepRule {
  /** Below this many pages a table is vacuumed on every round: it costs next to nothing. */
  smallTablePages: number;
  /** A bigger table is vacuumed and analysed again once it has grown by this share since its last count. */
  growth: number;
  /** While serving, a bigger table waits until no statement has been in flight for this long... */
  quietMs: number;
  /** ...but no longer than this: a server that is never quiet still gets its upkeep. */
  quietWaitMaxMs: number;
}

/** 8 MiB, and a tenth (autovacuum's own scale factor for ANALYZE); a quarter second, ten minutes. */
export const DEFAULT_UPKEEP_RULE: UpkeepRule = {
  smallTablePages: 1024,
  growth: 0.1,
  quietMs: 250,
  quietWaitMaxMs: 600_000,
};

export interface UpkeepLog {
  info: (msg: string) => void;
  error: (obj: unknown, msg: string) => void;
}

/**
 * The embedded database's autovacuum. PGlite runs no autovacuum worker, so without this the
 * planner never gets statistics (every query plans on guesses) and the rows that ingest deletes
 * (the queue) or rewrites (rollups, log heads, keys' last use) are never reclaimed. A round runs
 * `VACUUM (ANALYZE)` on every small table and on every big one that grew by a tenth since it was
 * last counted, one table at a time. PGlite runs one statement at a time on the server's thread,
 * so every query waits for the table being vacuumed: seconds for a big one. Hence `catchUp()`
 * before serving, and, while serving, a big table waits for a quiet moment.
 */
export class EmbeddedUpkeep {
  readonly #pool: pg.Pool;
  readonly #log: UpkeepLog;
  readonly #rule: UpkeepRule;
  readonly #stopping = new AbortController();
  #rounds: PeriodicTask | undefined;
  /** When a client was last checked out of the pool or returned to it. */
  #lastActive = performance.now();

  constructor(pool: pg.Pool, log: UpkeepLog, rule: UpkeepRule = DEFAULT_UPKEEP_RULE) {
    this.#pool = pool;
    this.#log = log;
    this.#rule = rule;
    const active = () => {
      this.#lastActive = performance.now();
    };
    pool.on("acquire", active);
    pool.on("release", active);
  }

  /** Before serving: every table due, without waiting, so a restarted server never serves while a big one's VACUUM is pending. */
  catchUp(): Promise<string[]> {
    return this.#vacuumDue(false);
  }

  /** One round while serving: each big table waits for a quiet moment first. Returns the tables vacuumed. */
  runRound(): Promise<string[]> {
    return this.#vacuumDue(true);
  }

  /** A first round after `firstMs`, then one every `everyMs` from the previous one's start. */
  start(firstMs: number, everyMs: number): void {
    this.#rounds = new PeriodicTask(
      () =>
        this.runRound().then(
          () => {},
          (err) => this.#log.error(err, "embedded database upkeep failed; trying again next round"),
        ),
      everyMs,
    );
    this.#rounds.start(firstMs);
  }

  /** Stops the rounds: a round waiting for a quiet moment ends now, one vacuuming after its current table. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#rounds?.stop();
  }

  async #vacuumDue(waitForQuiet: boolean): Promise<string[]> {
    const { rows } = await this.#pool.query<{ name: string; counted: number; pages: string }>(
      `SELECT c.relname AS name, c.relpages AS counted, pg_relation_size(c.oid) / 8192 AS pages
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'r' AND n.nspname = current_schema()
        ORDER BY c.relname`,
    );
    const { smallTablePages, growth } = this.#rule;
    const due = rows.filter(({ counted, pages }) => {
      const now = Number(pages);
      return now < smallTablePages || now > counted * (1 + growth);
    });
    const vacuumed: string[] = [];
    for (const { name, pages } of due) {
      const big = Number(pages) >= smallTablePages;
      if (big && waitForQuiet && !(await this.#quietMoment())) {
        const { quietMs, quietWaitMaxMs } = this.#rule;
        this.#log.info(
          `embedded database upkeep: not ${quietMs} ms without a statement in ${quietWaitMaxMs / 60_000} minutes; vacuuming ${name} anyway`,
        );
      }
      if (this.#stopping.signal.aborted) break;
      // 128 pages of 8 KiB to the MiB.
      if (big)
        this.#log.info(
          `embedded database upkeep: vacuuming and analysing ${name} (${Math.round(Number(pages) / 128)} MiB)`,
        );
      const started = performance.now();
      await this.#pool.query(`VACUUM (ANALYZE) ${quoteIdentifier(name)}`);
      vacuumed.push(name);
      if (big) {
        const seconds = ((performance.now() - started) / 1000).toFixed(1);
        this.#log.info(`embedded database upkeep: vacuumed and analysed ${name} in ${seconds} s`);
      }
    }
    return vacuumed;
  }

  /**
   * Waits until no client has been out of the pool for `quietMs`, so a VACUUM does not start in
   * the middle of a burst of queries. False when it gave up after `quietWaitMaxMs`; ends early on stop().
   */
  async #quietMoment(): Promise<boolean> {
    const { quietMs, quietWaitMaxMs } = this.#rule;
    const giveUpAt = performance.now() + quietWaitMaxMs;
    while (!this.#stopping.signal.aborted) {
      const now = performance.now();
      const pool = this.#pool;
      const busy = pool.totalCount > pool.idleCount || pool.waitingCount > 0;
      const quietFor = busy ? 0 : now - this.#lastActive;
      if (quietFor >= quietMs) return true;
      if (now >= giveUpAt) return false;
      await sleep(Math.min(quietMs - quietFor, giveUpAt - now), undefined, {
        signal: this.#stopping.signal,
        ref: false,
      }).catch(() => {});
    }
    return true;
  }
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
