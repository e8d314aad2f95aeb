import { UnavailableError } from "../../lib/errors.ts";
import type { EventRecord } from "../event-store.ts";
import type { TenantScope } from "../tenant-scope.ts";

type Write = (scope: TenantScope, records: readonly EventRecord[]) => Promise<void>;

export interface GroupCommitOptions {
  /** Statements of one scope running at once; further inserts of that scope wait and group. */
  writers: number;
  /** Most events a group gathers from waiting inserts (a larger single insert still goes alone). */
  maxGroupEvents: number;
}

interface Waiting {
  records: readonly EventRecord[];
  resolve(): void;
  reject(err: unknown): void;
}

interface Lane {
  scope: TenantScope;
  waiting: Waiting[];
  /** Writers started (at most `writers`). */
  writing: number;
  /** Of those, the ones running a statement now. */
  busy: number;
}

/**
 * Group commit for inserts. Inserts of one tenant scope wait for one of `writers` writers; a writer
 * takes its share of the waiting inserts (see #takeGroup) and writes them together: one
 * statement, one transaction, one commit. Under load, many small requests (single events, the
 * SDK's batches of 20) cost the database a few statements instead of a transaction each. An idle
 * writer starts on the next turn of the event loop (setImmediate), so inserts of requests read in
 * the same turn go together too: with PGlite, whose statements run synchronously on this thread,
 * nothing would wait otherwise. Every insert settles when its own records are committed, and a
 * group that fails is written again insert by insert, so one insert's bad records never fail
 * another's; a group that fails because the database is unavailable fails every insert of it.
 */
export class GroupCommit {
  readonly #write: Write;
  readonly #options: GroupCommitOptions;
  readonly #lanes = new Map<string, Lane>();

  constructor(write: Write, options: GroupCommitOptions) {
    this.#write = write;
    this.#options = options;
  }

  insert(scope: TenantScope, records: readonly EventRecord[]): Promise<void> {
    const key = "tenantId" in scope ? `tenant:${scope.tenantId}` : "all";
    const lane = this.#lanes.get(key) ?? { scope, waiting: [], writing: 0, busy: 0 };
    this.#lanes.set(key, lane);
    const settled = new Promise<void>((resolve, reject) => lane.waiting.push({ records, resolve, reject }));
    if (lane.writing < this.#options.writers) {
      lane.writing++;
      setImmediate(() => void this.#runWriter(key, lane));
    }
    return settled;
  }

  /** One writer: writes groups while inserts wait, then gives its place back. */
  async #runWriter(key: string, lane: Lane): Promise<void> {
    while (lane.waiting.length > 0) {
      const group = this.#takeGroup(lane);
      lane.busy++;
      await this.#writeGroup(lane.scope, group);
      lane.busy--;
    }
    lane.writing--;
    if (lane.writing === 0) this.#lanes.delete(key);
  }

  /**
   * The next waiting inserts, in order, up to this writer's share of the waiting events (writers
   * not running a statement split them, so two batches made together still run side by side) and
   * at most maxGroupEvents; always at least one insert.
   */
  #takeGroup(lane: Lane): Waiting[] {
    const waitingEvents = lane.waiting.reduce((sum, waiting) => sum + waiting.records.length, 0);
    const share = Math.min(this.#options.maxGroupEvents, Math.ceil(waitingEvents / (lane.writing - lane.busy)));
    const group: Waiting[] = [];
    let events = 0;
    while (lane.waiting.length > 0) {
      const size = lane.waiting[0].records.length;
      if (group.length > 0 && events + size > share) break;
      group.push(lane.waiting.shift() as Waiting);
      events += size;
    }
    return group;
  }

  /** Settles every insert of the group; never throws. */
  async #writeGroup(scope: TenantScope, group: Waiting[]): Promise<void> {
    if (group.length === 1) {
      await this.#write(scope, group[0].records).then(group[0].resolve, group[0].reject);
      return;
    }
    try {
      await this.#write(
        scope,
        group.flatMap((waiting) => waiting.records),
      );
    } catch (err) {
      // Nothing of the group was stored (one transaction). A database that cannot serve fails
      // them all: one by one, each would wait out the outage in turn.
      if (err instanceof UnavailableError) {
        for (const waiting of group) waiting.reject(err);
        return;
      }
      // Otherwise one insert's records may be to blame: each alone, as if never grouped.
      for (const waiting of group) await this.#write(scope, waiting.records).then(waiting.resolve, waiting.reject);
      return;
    }
    for (const waiting of group) waiting.resolve();
  }
}
