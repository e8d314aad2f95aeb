import type { Event } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import { formatSdkLine } from "../codec/formats/sdk-jsonl.ts";
import { FailedPreconditionError } from "../lib/errors.ts";
import type { Database } from "../store/database.ts";
import type { EventCursor, EventFilter } from "../store/event-store.ts";
import type { StoredKey } from "../store/key-store.ts";
import type { RetentionPolicy } from "../store/retention-store.ts";
import { administrator, type Principal, tenantScope } from "./access.ts";
import { type VerifyProgress, verifyDatabase } from "./audit/database-verification.ts";
import type { VerificationOutcome } from "./audit/log-verifier.ts";
import { storedEventForJson } from "./event-record.ts";
import type { EventService } from "./event-service.ts";
import { createApiKey, type KeySpec } from "./key-admin.ts";
import {
  type Erasure,
  type ErasureProgress,
  type ErasureRequest,
  erase,
  type PurgeDone,
  runRetention,
  setRetention,
  showRetention,
} from "./retention/retention.ts";

const EXPORT_PAGE_SIZE = 1000;

/** A page of an export: events as lines of the SDK's file format, and (first page) how many in all. */
export interface ExportPage {
  lines: string[];
  /** Undefined where counting would cost a scan (a session or text filter), and after the first page. */
  totalEvents?: number;
}

/**
 * The administrator's use cases, for the local CLI (acting for everyone) and AdminService (an
 * admin key, scoped by `administrator`): keys, export, import and verification of the audit log,
 * retention and erasure (src/core/retention).
 */
export class Administration {
  readonly #store: Database;
  readonly #events: EventService;

  constructor(store: Database, events: EventService) {
    this.#store = store;
    this.#events = events;
  }

  createKey(principal: Principal, spec: KeySpec): Promise<{ key: StoredKey; secret: string }> {
    administrator(principal, spec.tenantId);
    return createApiKey(this.#store.keys, spec);
  }

  /** `tenantId` undefined: every tenant the caller administers. */
  listKeys(principal: Principal, tenantId?: string): Promise<StoredKey[]> {
    const acting = administrator(principal, tenantId ?? "");
    return this.#store.keys.listKeys(acting.kind === "key" ? acting.tenantId : tenantId);
  }

  /** False when no active key of the caller's tenants has this id. */
  async revokeKey(principal: Principal, id: string): Promise<boolean> {
    const acting = administrator(principal, "");
    if (acting.kind === "key" && !(await this.#store.keys.listKeys(acting.tenantId)).some((key) => key.id === id)) {
      return false;
    }
    return this.#store.keys.revokeKey(id);
  }

  /** The events matching the filter, oldest first, page by page (constant memory). */
  async *exportEvents(principal: Principal, filter: EventFilter): AsyncGenerator<ExportPage> {
    const scope = tenantScope(administrator(principal, filter.tenantId));
    const counted = !filter.sessionId && !filter.textQuery;
    let totalEvents = counted ? Number((await this.#store.eventStats(scope, filter)).totalEvents) : undefined;
    let after: EventCursor | undefined;
    for (;;) {
      const page = await this.#store.queryEvents(scope, {
        filter,
        ascending: true,
        limit: EXPORT_PAGE_SIZE,
        after,
      });
      yield { lines: page.map((row) => formatSdkLine(storedEventForJson(row))), totalEvents };
      totalEvents = undefined;
      if (page.length < EXPORT_PAGE_SIZE) return;
      after = page[page.length - 1];
    }
  }

  /** Stores a batch as IngestEventBatch does; returns how many were stored or already there. */
  async importEvents(principal: Principal, events: Event[]): Promise<number> {
    const acting = administrator(principal, "");
    return (await this.#events.ingestBatch(acting, events)).acceptedCount;
  }

  /** Recomputes a tenant's log (verifyDatabase); no `verifierKeys`: every signing key the database recorded. */
  async verifyLog(
    principal: Principal,
    check: { tenantId: string; verifierKeys?: readonly string[]; savedNote?: string },
    progress?: VerifyProgress,
  ): Promise<VerificationOutcome> {
    administrator(principal, check.tenantId);
    const keys = check.verifierKeys?.length
      ? check.verifierKeys
      : (await this.#store.signingKeys.signingKeys()).map((key) => key.verifierKey);
    if (keys.length === 0)
      throw new FailedPreconditionError("no server has signed checkpoints in this database yet; pass --public-key");
    const verifier = await verifyDatabase(this.#store, check.tenantId, keys, check.savedNote, progress);
    return verifier.outcome();
  }

  /** Sets a retention period (0 days: none); returns the tenant's periods after it. */
  setRetentionPolicy(
    principal: Principal,
    policy: { tenantId: string; projectId: string; days: number; setBy: string },
  ): Promise<RetentionPolicy[]> {
    return setRetention(this.#store, principal, policy);
  }

  retentionPolicies(principal: Principal, tenantId: string): Promise<RetentionPolicy[]> {
    return showRetention(this.#store, principal, tenantId);
  }

  /** Purges what is expired now; undefined when another process is purging. */
  runRetention(principal: Principal): Promise<PurgeDone[] | undefined> {
    return runRetention(this.#store, principal, new Date());
  }

  eraseEvents(principal: Principal, request: ErasureRequest, progress?: ErasureProgress): Promise<Erasure> {
    return erase(this.#store, principal, request, progress);
  }
}
