import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/store/database.ts";
import { openTestStore, storeKinds } from "../support/databases.ts";
import { eventRecord } from "../support/records.ts";

const kinds = await storeKinds();

/** How the events table keeps payloads: beneath the store, so PostgreSQL only (PGlite has no URL to reach it by). */
describe.each(kinds.filter((k) => k === "postgres"))("payloads on the %s store", (kind) => {
  let store: Database;
  let close: () => Promise<void>;
  let sql: pg.Client;
  const scope = { tenantId: "payloads" };
  // Over the 2 KB at which a row is compressed or moved out of line: one that compresses, one that cannot.
  const text = eventRecord({
    tenantId: "payloads",
    eventId: "text",
    payload: Buffer.from("model output ".repeat(500)),
  });
  const noise = eventRecord({ tenantId: "payloads", eventId: "noise", payload: randomBytes(3000) });

  beforeAll(async () => {
    const opened = await openTestStore(kind);
    ({ store, close } = opened);
    sql = new pg.Client({ connectionString: opened.url });
    await sql.connect();
    await store.insertEvents(scope, [text, noise]);
  });
  afterAll(async () => {
    await sql.end();
    await close();
  });

  it("keeps them in the row, not in the TOAST table", async () => {
    const { rows } = await sql.query<{ toast: string }>(
      "SELECT pg_relation_size(reltoastrelid) AS toast FROM pg_class WHERE relname = 'events'",
    );
    expect(Number(rows[0].toast)).toBe(0);
  });

  it("compresses them with lz4, and reads them back as stored", async () => {
    const { rows } = await sql.query<{ event_id: string; method: string | null; payload: Buffer }>(
      "SELECT event_id, pg_column_compression(payload) AS method, payload FROM events WHERE tenant_id = $1 ORDER BY event_id",
      [scope.tenantId],
    );
    expect(rows.map((r) => [r.event_id, r.method])).toEqual([
      ["noise", null],
      ["text", "lz4"],
    ]);
    expect(rows[0].payload).toEqual(Buffer.from(noise.payload));
    expect(rows[1].payload).toEqual(Buffer.from(text.payload));
  });
});
