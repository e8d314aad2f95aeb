import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { processCpuSeconds } from "./meters.ts";
import { round } from "./stats.ts";

/** For stores the bench opens itself: their migrations and errors would only clutter the output. */
export const QUIET_LOG = { info: () => {}, error: () => {} };

/** What a reset keeps: the migration log and what an operator sets up (keys, secrets). */
const SETUP_TABLES = ["schema_migrations", "api_keys", "server_secrets", "redaction_rules", "redaction_secrets"];

/** A scratch database on a PostgreSQL server, made for one run, and the bench's own connection to it. */
/** SQLSTATE deadlock_detected. */
const DEADLOCK_DETECTED = "40P01";

export class BenchDatabase {
  readonly url: string;
  readonly name: string;
  readonly admin: pg.Client;
  readonly #serverUrl: string;

  private constructor(serverUrl: string, name: string, url: string, admin: pg.Client) {
    this.#serverUrl = serverUrl;
    this.name = name;
    this.url = url;
    this.admin = admin;
  }

  static async create(serverUrl: string): Promise<BenchDatabase> {
    const name = `chaukas_bench_${randomBytes(6).toString("hex")}`;
    const root = new pg.Client({ connectionString: serverUrl });
    await root.connect();
    try {
      await root.query(`CREATE DATABASE ${name}`);
    } finally {
      await root.end();
    }
    return BenchDatabase.open(serverUrl, name);
  }

  /** An existing database on the same server. */
  static async open(serverUrl: string, name: string): Promise<BenchDatabase> {
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    const admin = new pg.Client({ connectionString: url.toString() });
    await admin.connect();
    return new BenchDatabase(serverUrl, name, url.toString(), admin);
  }

  async connect(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: this.url });
    await client.connect();
    return client;
  }

  /**
   * Empties every table ingest writes (all but the setup tables: events, the queue, the audit log,
   * the stats rollups), so every timed run starts from the same state.
   */
  async emptyIngested(): Promise<void> {
    const { rows } = await this.admin.query<{ tablename: string }>(
      "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND NOT tablename = ANY($1)",
      [SETUP_TABLES],
    );
    await this.empty(rows.map((r) => r.tablename));
  }

  /**
   * Empties `tables` and checkpoints. The write-once triggers refuse TRUNCATE; the bench owns this
   * scratch database, so it lifts them for the moment, in one transaction.
   */
  async empty(tables: readonly string[]): Promise<void> {
    const triggers = (action: string) => tables.map((t) => `ALTER TABLE ${t} ${action} TRIGGER USER;`).join(" ");
    for (let attempt = 1; ; attempt++) {
      try {
        await this.admin.query(
          `BEGIN; ${triggers("DISABLE")} TRUNCATE ${tables.join(", ")}; ${triggers("ENABLE")} COMMIT`,
        );
        break;
      } catch (err) {
        await this.admin.query("ROLLBACK").catch(() => {});
        // A running server's integrator locks some of these tables in another order; PostgreSQL
        // breaks such a deadlock by failing one side, and the next try finds them free.
        if ((err as { code?: string }).code !== DEADLOCK_DETECTED || attempt === 5) throw err;
      }
    }
    await this.admin.query("CHECKPOINT");
  }

  async count(table: string): Promise<number> {
    const { rows } = await this.admin.query(`SELECT count(*)::int AS n FROM ${table}`);
    return rows[0].n;
  }

  /**
   * Waits until the ingest queue is empty (the audit log has every stored event); the ms it took.
   * It asks whether a row is left, not how many: a count of a queue of thousands is milliseconds of
   * PostgreSQL's CPU every 20 ms, inside the windows whose CPU the bench measures.
   */
  async auditCaughtUp(what: string): Promise<number> {
    const queued = async () => {
      const { rows } = await this.admin.query("SELECT EXISTS (SELECT FROM ingest_queue) AS queued");
      return rows[0].queued as boolean;
    };
    const from = performance.now();
    while (await queued()) {
      if (performance.now() - from > 120_000) throw new Error(`${what}: the audit log did not catch up within 120 s`);
      await sleep(20);
    }
    return round(performance.now() - from);
  }

  /** CPU seconds used so far by each PostgreSQL backend on this database but ours (local servers only). */
  async backendCpu(): Promise<Map<number, number>> {
    const { rows } = await this.admin.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
    );
    return new Map(rows.map((r) => [r.pid, processCpuSeconds(r.pid)]));
  }

  /** Ends the bench's connection and leaves the database as it is (for EXPLAIN, or --reuse-db). */
  async keep(): Promise<void> {
    await this.admin.end().catch(() => {});
  }

  async drop(): Promise<void> {
    await this.keep();
    const root = new pg.Client({ connectionString: this.#serverUrl });
    await root.connect();
    try {
      await root.query(`DROP DATABASE IF EXISTS ${this.name} WITH (FORCE)`);
    } finally {
      await root.end();
    }
  }
}

/** The CPU seconds PostgreSQL backends used between two `backendCpu` readings. */
export function cpuDelta(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, cpu] of after) total += cpu - (before.get(pid) ?? 0);
  return round(total, 2);
}
