import pg from "pg";

/** The advisory lock key of the background-work lease (any fixed int8, apart from the integrator's). */
const LEASE_LOCK = "4242000003";

/**
 * The lease on a PostgreSQL database's background work: a session advisory lock on a connection of
 * its own, outside the pool. PostgreSQL lets one session hold it; it is released when that
 * connection ends, with its process or by the database (pg_terminate_backend, a restart), and
 * another process takes it at its next try. A holder whose connection fails holds it no more.
 */
export class BackgroundLease {
  readonly #config: pg.ClientConfig;
  #holder: pg.Client | undefined;

  constructor(config: pg.ClientConfig) {
    this.#config = config;
  }

  /** Whether this process holds the lease now: checks the held connection, else tries to take it. */
  async held(): Promise<boolean> {
    if (this.#holder) {
      try {
        await this.#holder.query("SELECT 1");
        return true;
      } catch {
        await this.release();
      }
    }
    const client = new pg.Client(this.#config);
    // A connection lost while idle is found out by the next check.
    client.on("error", () => {});
    try {
      await client.connect();
      const { rows } = await client.query<{ locked: boolean }>("SELECT pg_try_advisory_lock($1) AS locked", [
        LEASE_LOCK,
      ]);
      if (rows[0].locked) {
        this.#holder = client;
        return true;
      }
    } catch {
      // The database cannot be reached: nobody here holds the lease.
    }
    await client.end().catch(() => {});
    return false;
  }

  async release(): Promise<void> {
    const holder = this.#holder;
    this.#holder = undefined;
    await holder?.end().catch(() => {});
  }
}
