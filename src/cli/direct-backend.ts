import { administration, eventService } from "../app.ts";
import { UNRESTRICTED } from "../core/access.ts";
import { integrateQueued } from "../core/audit/audit-trail.ts";
import type { Database } from "../store/database.ts";
import type { AdminBackend } from "./admin-backend.ts";

/** The CLI's administration on the database itself, acting for every tenant (it holds the database, not a key). */
export function directBackend(store: Database): AdminBackend {
  const admin = administration(store, eventService(store));
  return {
    createKey: (spec) => admin.createKey(UNRESTRICTED, spec),
    listKeys: (tenantId) => admin.listKeys(UNRESTRICTED, tenantId),
    revokeKey: (id) => admin.revokeKey(UNRESTRICTED, id),
    exportEvents: (filter) => admin.exportEvents(UNRESTRICTED, filter),
    importEvents: (events) => admin.importEvents(UNRESTRICTED, events),
    // Positions in the audit log now; the next server start signs their checkpoint.
    finishImport: async () => {
      await integrateQueued(store.audit);
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
