import { administration, eventService } from "../app.ts";
import { UNRESTRICTED } from "../core/access.ts";
import { integrateQueued } from "../core/audit/audit-trail.ts";
import type { Database } from "../store/database.ts";
import type { AdminBackend } from "./admin-backend.ts";

/**
 * Imported events queued at most, before the import appends them to their logs: the integrator
 * takes the queue in log order, each round scanning all of it, so a queue of millions would make
 * the last append of a long import slow.
 */
const IMPORT_QUEUE_BOUND = 10_000;

/** The CLI's administration on the database itself, acting for every tenant (it holds the database, not a key). */
export function directBackend(store: Database): AdminBackend {
  const admin = administration(store, eventService(store));
  let queuedByImport = 0;
  return {
    createKey: (spec) => admin.createKey(UNRESTRICTED, spec),
    listKeys: (tenantId) => admin.listKeys(UNRESTRICTED, tenantId),
    revokeKey: (id) => admin.revokeKey(UNRESTRICTED, id),
    exportEvents: (filter) => admin.exportEvents(UNRESTRICTED, filter),
    importEvents: async (events) => {
      const accepted = await admin.importEvents(UNRESTRICTED, events);
      queuedByImport += accepted;
      if (queuedByImport >= IMPORT_QUEUE_BOUND) {
        await integrateQueued(store.audit);
        queuedByImport = 0;
      }
      return accepted;
    },
    // Positions in the audit log now; the next server start signs their checkpoint.
    finishImport: async () => {
      await integrateQueued(store.audit);
      queuedByImport = 0;
    },
    verifyLog: (check, progress) => admin.verifyLog(UNRESTRICTED, check, progress),
    setRetentionPolicy: (policy) => admin.setRetentionPolicy(UNRESTRICTED, policy),
    retentionPolicies: (tenantId) => admin.retentionPolicies(UNRESTRICTED, tenantId),
    runRetention: () => positioned(admin.runRetention(UNRESTRICTED)),
    eraseEvents: (request, progress) => positioned(admin.eraseEvents(UNRESTRICTED, request, progress)),
    close: () => store.close(),
  };

  /** After a purge: its records' positions in the log now; the next server start signs their checkpoint. */
  async function positioned<T>(purging: Promise<T>): Promise<T> {
    const done = await purging;
    await integrateQueued(store.audit);
    return done;
  }
}
