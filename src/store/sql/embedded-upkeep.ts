import type pg from "pg";

export interface UpkeepRule {
  /** Below this many pages a table is vacuumed on every round: it costs next to nothing. */
  smallTablePages: number;
  /** A bigger table is vacuumed and analysed again once it has grown by this share since its last count. */
  growth: number;
}

/** 8 MiB, and a tenth: autovacuum's own scale factor for ANALYZE. */
export const DEFAULT_UPKEEP_RULE: UpkeepRule = { smallTablePages: 1024, growth: 0.1 };

export interface UpkeepLog {
  info: (msg: string) => void;
  error: (obj: unknown, msg: string) => void;
}

/**
 * The embedded database's autovacuum. PGlite runs no autovacuum worker, so without this the
 * planner never gets statistics (every query plans on guesses) and the rows that ingest deletes
 * (the queue) or rewrites (rollups, log heads, keys' last use) are never reclaimed. Each round runs
 * `VACUUM (ANALYZE)` on every small table and on every big one that grew by a tenth since it was
 * last counted, one table at a time, so other statements wait for one table, not all.
 */
export class EmbeddedUpkeep {
  readonly #pool: pg.Pool;
  readonly #log: UpkeepLog;
  readonly #rule: UpkeepRule;
  #timer: NodeJS.Timeout | undefined;
  #round: Promise<unknown> = Promise.resolve();
  #stopped = false;

  constructor(pool: pg.Pool, log: UpkeepLog, rule: UpkeepRule = DEFAULT_UPKEEP_RULE) {
    this.#pool = pool;
    this.#log = log;
    this.#rule = rule;
  }

  /** A first round after `firstMs` (after start-up, not during it), then one every `everyMs`. */
  start(firstMs: number, everyMs: number): void {
    const next = (ms: number) => {
      this.#timer = setTimeout(() => {
        this.#round = this.runRound()
          .catch((err) => this.#log.error(err, "embedded database upkeep failed; trying again next round"))
          .finally(() => {
            if (!this.#stopped) next(everyMs);
          });
      }, ms);
      this.#timer.unref();
    };
    next(firstMs);
  }

  /** Stops the rounds: the one running ends after its current table. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#round;
  }

  /** One round; returns the tables it vacuumed. */
  async runRound(): Promise<string[]> {
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
      if (this.#stopped) break;
      await this.#pool.query(`VACUUM (ANALYZE) ${quoteIdentifier(name)}`);
      vacuumed.push(name);
      if (Number(pages) >= smallTablePages) this.#log.info(`embedded database upkeep: vacuumed and analysed ${name}`);
    }
    return vacuumed;
  }
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
