import pg from "pg";
import { ADVISORY_LOCK } from "./advisory-locks.ts";

/**
 * The lease on a PostgreSQL database's background work: a session advisory lock on a connection of
 * its own, outside the pool. PostgreSQL lets one session hold it; it is released when that
 * connection ends, with its process or by the database (pg_terminate_backend, a restart), and
 * another process takes it at its next try. A holder whose connection fails holds it no more.
 */
export class BackgroundLease {
  readonly #config: pg.ClientConfig;
  /** Kept open between tries, whether it holds the lock or not: a try is one statement. */
  #client: pg.Client | undefined;
  #holding = false;

  constructor(config: pg.ClientConfig) {
    this.#config = config;
  }

  /** Whether this process holds the lease now: checks the holding connection, else tries to take it. */
  async held(): Promise<boolean> {
    try {
      const client = this.#client ?? (await this.#connect());
      if (this.#holding) {
        await client.query("SELECT 1");
      } else {
        const { rows } = await client.query<{ locked: boolean }>("SELECT pg_try_advisory_lock($1) AS locked", [
          ADVISORY_LOCK.backgroundLease,
        ]);
        this.#holding = rows[0].locked;
      }
      return this.#holding;
    } catch {
      // The connection failed, or cannot be made: whatever it held, PostgreSQL released with it.
      await this.release();
      return false;
    }
  }

  async release(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    this.#holding = false;
    await client?.end().catch(() => {});
  }

  async #connect(): Promise<pg.Client> {
    const client = new pg.Client(this.#config);
    // A connection lost while idle is found out by the next try.
    client.on("error", () => {});
    await client.connect().catch(async (err) => {
      await client.end().catch(() => {});
      throw err;
    });
    this.#client = client;
    return client;
  }
}
