import { create } from "@bufbuild/protobuf";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { GetUsageRequestSchema, ListSessionsRequestSchema } from "../../gen/chaukas/backend/v1/sessions_pb.ts";
import { EventTypeSchema } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import { eventService } from "../../src/app.ts";
import { UNRESTRICTED } from "../../src/core/access.ts";
import { integrateQueued } from "../../src/core/audit/audit-trail.ts";
import { toEventRecord } from "../../src/core/event-record.ts";
import { openDatabase } from "../../src/store/sql/open-store.ts";
import { nsToTimestamp } from "../store/fixtures.ts";
import { createTestDatabase, storeKinds } from "../support/databases.ts";
import { migrateUpTo } from "../support/migrations.ts";
import { expectSessions, expectUsage } from "./expectations.ts";
import { expectedSessions, expectedUsage, HOUR_NS, sdkSessions, T0 } from "./sdk-sessions.ts";

/**
 * Events stored before the usage rollups existed (some still queued for the old rollups) are
 * rolled up from their payloads by the integrator after the migration, each exactly once.
 */

const typeName = (type: number) => EventTypeSchema.value[type as keyof typeof EventTypeSchema.value].name;

describe.each((await storeKinds()).filter((k) => k === "postgres"))("the usage views migration on the %s store", () => {
  it("backfills the sessions and usage of events stored before it", async () => {
    const db = await createTestDatabase();
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await migrateUpTo(client, "1764180000000_session-and-usage-views");
      const events = sdkSessions(11, "old", ["web", "mobile"], 8);
      // As the earlier schema stored them: half rolled up already (off the queue), half still queued.
      for (const [i, event] of events.entries()) {
        const r = toEventRecord(event);
        await client.query(
          `INSERT INTO events (tenant_id, event_id, project_id, session_id, agent_id, type, status, severity, ts_ns, search, payload)
           VALUES ($1, $2, $3, $4, NULLIF($5, ''), $6, $7, $8, $9, ''::tsvector, $10)`,
          [
            r.tenantId,
            r.eventId,
            r.projectId,
            r.sessionId,
            r.agentId,
            r.type,
            r.status,
            r.severity,
            String(r.timestampNs),
            r.payload,
          ],
        );
        if (i % 2 === 0) {
          await client.query(
            `INSERT INTO ingest_queue (tenant_id, event_id, content_hash, project_id, session_id, type, ts_ns, to_log)
             VALUES ($1, $2, $3, $4, $5, $6, $7, false)`,
            [r.tenantId, r.eventId, r.contentHash, r.projectId, r.sessionId, r.type, String(r.timestampNs)],
          );
        }
      }

      const store = await openDatabase(
        { kind: "postgres", databaseUrl: db.url, poolSize: 2 },
        { info: () => {}, error: () => {} },
      );
      try {
        await integrateQueued(store.audit);
        const views = eventService(store).sessions;
        const list = await views.listSessions(
          UNRESTRICTED,
          create(ListSessionsRequestSchema, { filter: { tenantId: "old" }, pageSize: 100 }),
        );
        expectSessions(list.sessions, expectedSessions(events));
        // Only the queued half is in the event counts by type (the other half was counted by the
        // old rollups, which this test did not run); every event is in the usage figures.
        const range = { startNs: T0, endNs: T0 + 96n * HOUR_NS, bucketNs: 6n * HOUR_NS };
        const usage = await views.usage(
          UNRESTRICTED,
          create(GetUsageRequestSchema, {
            tenantId: "old",
            timeRange: { start: nsToTimestamp(range.startNs), end: nsToTimestamp(range.endNs) },
            bucketSeconds: 21_600n,
          }),
        );
        const want = expectedUsage(events, typeName, range);
        const queued = expectedUsage(
          events.filter((_, i) => i % 2 === 0),
          typeName,
          range,
        );
        expectUsage(usage, { ...want, eventsByType: queued.eventsByType, totalEvents: queued.totalEvents });
        expect((await client.query("SELECT count(*)::int AS n FROM usage_backfill")).rows[0].n).toBe(0);
      } finally {
        await store.close();
      }
    } finally {
      await client.end();
      await db.drop();
    }
  });
});
