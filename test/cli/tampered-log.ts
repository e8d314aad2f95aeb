import { randomBytes } from "node:crypto";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { eventService } from "../../src/app.ts";
import { UNRESTRICTED } from "../../src/core/access.ts";
import type { CheckpointSigner } from "../../src/core/audit/checkpoint.ts";
import type { Database } from "../../src/store/database.ts";
import { openDatabase } from "../../src/store/sql/open-store.ts";
import { testAuditTrail } from "../support/audit.ts";
import { ADMIN_URL, createTestDatabase, type StoreKind, withPostgres } from "../support/databases.ts";
import { makeEvent } from "../support/events.ts";
import { tamperWith } from "../support/tamper.ts";

/**
 * A signed audit log in a real database of either kind, copied fresh for each test so that test
 * can alter it as a superuser would, write-once triggers bypassed, and run `chaukas verify` on it.
 */

export const TENANT = "acme";
/** Events e0..e39, in 4 batches of 10, a checkpoint signed after each: sizes 10, 20, 30, 40. */
export const EVENTS = 40;

export interface TamperedLog {
  /** The CLI arguments that open this database. */
  storeArgs: string[];
  /** Opens the store over it, as the server would. */
  open(): Promise<Database>;
  /** Runs SQL (several statements allowed) as the superuser, with triggers off as a tamperer would. */
  tamper(sql: string): Promise<void>;
  /** A query as the superuser; bytea columns come back as Buffer-compatible bytes. */
  query<R>(sql: string, values?: unknown[]): Promise<R[]>;
  drop(): Promise<void>;
}

export interface LogTemplate {
  /** The signed notes of the 4 checkpoints, by size. */
  notes: Map<bigint, string>;
  /** A fresh copy of the log. */
  copy(): Promise<TamperedLog>;
  drop(): Promise<void>;
}

const quiet = { info: () => {}, error: () => {} };

/** Builds the log once in a store of `kind`; copies of it are made per test. */
export async function logTemplate(kind: StoreKind, signer: CheckpointSigner): Promise<LogTemplate> {
  const template = kind === "postgres" ? await postgresTemplate() : embeddedTemplate();
  const store = await openDatabase(template.storeOptions, quiet);
  const notes = new Map<bigint, string>();
  try {
    const events = eventService(store);
    const trail = testAuditTrail(store, signer);
    for (let batch = 0; batch < 4; batch++) {
      const ids = Array.from({ length: EVENTS / 4 }, (_, i) => batch * 10 + i);
      await events.ingestBatch(
        UNRESTRICTED,
        ids.map((i) =>
          makeEvent({
            tenantId: TENANT,
            eventId: `e${i}`,
            traceId: "trace-1",
            spanId: `span-${i}`,
            agentId: "agent-1",
            agentName: "Planner",
            tags: ["prod", "eu"],
          }),
        ),
      );
      for (const checkpoint of await trail.integrateAndSign()) notes.set(checkpoint.size, checkpoint.note);
    }
  } finally {
    await store.close();
  }
  return { notes, copy: template.copy, drop: template.drop };
}

interface Template {
  storeOptions: Parameters<typeof openDatabase>[0];
  copy(): Promise<TamperedLog>;
  drop(): Promise<void>;
}

async function postgresTemplate(): Promise<Template> {
  const db = await createTestDatabase();
  const templateName = new URL(db.url).pathname.slice(1);
  return {
    storeOptions: { kind: "postgres", databaseUrl: db.url, poolSize: 2 },
    drop: db.drop,
    copy: async () => {
      const name = `chaukas_test_${randomBytes(6).toString("hex")}`;
      await withPostgres(ADMIN_URL, (client) => client.query(`CREATE DATABASE ${name} TEMPLATE ${templateName}`));
      const url = new URL(ADMIN_URL);
      url.pathname = `/${name}`;
      const run = <R>(sql: string, values?: unknown[]) =>
        withPostgres(url.toString(), async (client) => (await client.query(sql, values)).rows as R[]);
      return {
        storeArgs: ["--database-url", url.toString()],
        open: () => openDatabase({ kind: "postgres", databaseUrl: url.toString(), poolSize: 2 }, quiet),
        tamper: (sql) => tamperWith(url.toString(), sql),
        query: run,
        drop: async () => {
          await withPostgres(ADMIN_URL, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
        },
      };
    },
  };
}

function embeddedTemplate(): Template {
  const root = mkdtempSync(join(tmpdir(), "chaukas-tampered-"));
  const dataDir = join(root, "template");
  let copies = 0;
  return {
    storeOptions: { kind: "embedded", dataDir },
    drop: async () => rmSync(root, { recursive: true, force: true }),
    copy: async () => {
      const dir = join(root, `copy-${copies++}`);
      cpSync(dataDir, dir, { recursive: true });
      const run = async <R>(body: (db: PGlite) => Promise<R>) => {
        const db = await PGlite.create(dir);
        try {
          return await body(db);
        } finally {
          await db.close();
        }
      };
      return {
        storeArgs: ["--data-dir", dir],
        open: () => openDatabase({ kind: "embedded", dataDir: dir }, quiet),
        tamper: async (sql) => {
          await run((db) => db.exec(`SET session_replication_role = replica; ${sql}`));
        },
        query: <R>(sql: string, values?: unknown[]) => run(async (db) => (await db.query<R>(sql, values)).rows),
        drop: async () => rmSync(dir, { recursive: true, force: true }),
      };
    },
  };
}
