import { within } from "../lib/within.ts";
import type { Database } from "../store/database.ts";

/** How long a readiness check waits for the database before it calls it unreachable. */
export const READINESS_TIMEOUT_MS = 2_000;

/**
 * Whether this server should be sent traffic: its database answers, holds every migration the
 * server expects, and the server is not shutting down. Liveness (`/healthz`) is another question.
 */
export class Readiness {
  readonly #store: Pick<Database, "missingMigrations">;
  #draining = false;

  constructor(store: Pick<Database, "missingMigrations">) {
    this.#store = store;
  }

  /** From now on not ready: the server is shutting down, and load balancers should stop sending. */
  drain(): void {
    this.#draining = true;
  }

  /** Why the server is not ready, or undefined when it is. */
  async problem(): Promise<string | undefined> {
    if (this.#draining) return "shutting down";
    let missing: string[];
    try {
      missing = await within(this.#store.missingMigrations(), READINESS_TIMEOUT_MS);
    } catch (err) {
      return `the database cannot be reached (${(err as Error).message})`;
    }
    if (missing.length > 0) return `the database lacks migrations ${missing.join(", ")}: run \`chaukas migrate\``;
    return undefined;
  }
}
