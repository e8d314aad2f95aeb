import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { exitOf, killServerProcesses, startServerProcess } from "../../kit/server-process.ts";
import { adminKeyFile } from "../../src/app.ts";
import { runCli } from "../cli/run-cli.ts";
import { ADMIN_URL, createTestDatabase, openTestStore, storeKinds, withPostgres } from "../support/databases.ts";

/**
 * The deployment docs/deployment.md describes: the group roles exist (created by an administrator,
 * or by a first migration as a superuser), one login role owns the schema and migrates it, and the
 * server serves as another, a member of chaukas_app, which can change rows as the code does and
 * nothing else. The login roles of each run have random names and are dropped afterwards (roles
 * are cluster-wide).
 */

const ROOT = join(import.meta.dirname, "..", "..");
/** Every table the migrations make write-once, by name. */
const WRITE_ONCE_TABLES = [
  "audit_checkpoints",
  "audit_leaf_tiles",
  "audit_leaves",
  "audit_nodes",
  "event_ids",
  "events",
];

/** `url` with another user (trust authentication: no password). */
function asRole(url: string, role: string): string {
  const u = new URL(url);
  u.username = role;
  u.password = "";
  return u.toString();
}

/** A new database owned by `owner`, dropped by the returned function. */
async function databaseOwnedBy(owner: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const db = await createTestDatabase();
  await withPostgres(ADMIN_URL, (admin) =>
    admin.query(`ALTER DATABASE ${new URL(db.url).pathname.slice(1)} OWNER TO ${owner}`),
  );
  return db;
}

function rpc(baseUrl: string, path: string, body: unknown, key: string): Promise<Response> {
  return fetch(`${baseUrl}/${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
  });
}

const EVENTS = ["a-1", "a-2"].map((eventId, i) => ({
  eventId,
  tenantId: "default",
  projectId: "web",
  sessionId: "s1",
  type: "EVENT_TYPE_SESSION_START",
  timestamp: `2026-11-25T12:00:0${i}Z`,
}));

/** Ingest, query and an inclusion proof, through a server process started as the serving role. */
async function servesNormally(baseUrl: string, key: string): Promise<void> {
  const service = "chaukas.spec.server.v1.ChaukasServerService";
  const ingest = await rpc(baseUrl, `${service}/IngestEventBatch`, { eventBatch: { events: EVENTS } }, key);
  expect(await ingest.json()).toMatchObject({ acceptedCount: 2 });
  // The ingest queue drain (all tenants' logs) signs within a few of its 50 ms rounds.
  let proof: Response | undefined;
  for (let round = 0; round < 200 && proof?.status !== 200; round++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    proof = await rpc(baseUrl, "chaukas.backend.v1.AuditService/GetInclusionProof", { eventId: "a-2" }, key);
  }
  expect(await proof?.json()).toMatchObject({ leafIndex: "1", checkpoint: { size: "2" } });
  const query = await rpc(baseUrl, `${service}/QueryEvents`, { query: { filter: { tenantId: "default" } } }, key);
  const { response } = (await query.json()) as { response: { events: { eventId: string; wormProofId: string }[] } };
  // Newest first.
  expect(response.events.map((e) => [e.eventId, e.wormProofId])).toEqual([
    ["a-2", "checkpoint/2"],
    ["a-1", "checkpoint/2"],
  ]);
}

describe.skipIf(!(await storeKinds()).includes("postgres"))("database roles (PostgreSQL)", () => {
  const suffix = randomBytes(6).toString("hex");
  const owner = `chaukas_test_owner_${suffix}`;
  const server = `chaukas_test_server_${suffix}`;
  const stray = `chaukas_test_stray_${suffix}`;
  const dataDir = mkdtempSync(join(tmpdir(), "chaukas-roles-"));
  const drops: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    // The group roles, as a superuser's first migration creates them in a new cluster.
    await (await openTestStore("postgres")).close();
    await withPostgres(ADMIN_URL, async (admin) => {
      // As docs/deployment.md says: an owner with no right to create roles, and a serving login.
      await admin.query(`CREATE ROLE ${owner} LOGIN IN ROLE chaukas_tenant, chaukas_all_tenants`);
      await admin.query(`CREATE ROLE ${server} LOGIN IN ROLE chaukas_app`);
      // A login an administrator forgot to make a member of chaukas_app.
      await admin.query(`CREATE ROLE ${stray} LOGIN`);
    });
  });

  afterAll(async () => {
    killServerProcesses();
    for (const drop of drops) await drop();
    await withPostgres(ADMIN_URL, (admin) => admin.query(`DROP ROLE IF EXISTS ${server}, ${stray}, ${owner}`));
    rmSync(dataDir, { recursive: true, force: true });
  });

  // Starting and stopping three server processes on a machine shared with other test runs.
  const PROCESSES_TIMEOUT_MS = 120_000;

  test(
    "the owner migrates (`chaukas migrate`), the serving role serves, and cannot migrate itself",
    async () => {
      const db = await databaseOwnedBy(owner);
      drops.push(db.drop);
      const serving = { DATABASE_URL: asRole(db.url, server) };
      const args = ["--data-dir", dataDir, "--checkpoint-interval-ms", "50"];

      // The serving role cannot create the schema: the server says what to do instead.
      const early = spawn(process.execPath, [join(ROOT, "dist", "src", "main.js"), "--port", "0", ...args], {
        env: { ...process.env, ...serving },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stderr = "";
      early.stderr.on("data", (chunk) => {
        stderr += chunk;
      });
      expect(await exitOf(early)).toBe(1);
      expect(stderr).toContain(`role "${server}" does not own it: run \`chaukas migrate\``);

      const migrated = await runCli(["migrate"], { CHAUKAS_MIGRATE_DATABASE_URL: asRole(db.url, owner) });
      expect(migrated.code).toBe(0);
      expect(migrated.stderr).toMatch(/applied migration \d+_serving-role\n.*the schema is up to date\n$/s);

      const started = await startServerProcess(args, { env: serving });
      expect(started.output()).not.toContain("can alter the schema");
      await servesNormally(
        started.baseUrl,
        readFileSync(adminKeyFile({ databaseUrl: serving.DATABASE_URL, dataDir }), "utf8").trim(),
      );
      started.child.kill("SIGTERM");
      expect(await exitOf(started.child)).toBe(0);

      // The owner serving alone still works, with a warning that points at the docs.
      const alone = await startServerProcess(args, { env: { DATABASE_URL: asRole(db.url, owner) } });
      expect(alone.output()).toContain(
        `database role \\"${owner}\\" serves requests and can alter the schema: it could switch off write-once and row-level security`,
      );
      expect(alone.output()).toContain("docs/deployment.md");
      alone.child.kill("SIGTERM");
      expect(await exitOf(alone.child)).toBe(0);
    },
    PROCESSES_TIMEOUT_MS,
  );

  describe("connected as the serving role", () => {
    let db: { url: string; drop: () => Promise<void> };

    beforeAll(async () => {
      db = await databaseOwnedBy(owner);
      drops.push(db.drop);
      // The server's own start-up with --migrate-database-url, and two tenants' events through it.
      const started = await startServerProcess(
        ["--data-dir", join(dataDir, "second"), "--checkpoint-interval-ms", "50"],
        { env: { DATABASE_URL: asRole(db.url, server), CHAUKAS_MIGRATE_DATABASE_URL: asRole(db.url, owner) } },
      );
      expect(started.output()).not.toContain("can alter the schema");
      const keyFile = adminKeyFile({ databaseUrl: asRole(db.url, server), dataDir: join(dataDir, "second") });
      await servesNormally(started.baseUrl, readFileSync(keyFile, "utf8").trim());
      started.child.kill("SIGTERM");
      expect(await exitOf(started.child)).toBe(0);
      await withPostgres(asRole(db.url, owner), (client) =>
        client.query(`BEGIN; SET LOCAL ROLE chaukas_all_tenants;
          INSERT INTO events (tenant_id, event_id, project_id, session_id, type, status, severity, ts_ns, search, payload)
          VALUES ('other', 'o-1', 'p', 's', 1, 0, 0, 0, '', ''); COMMIT`),
      );
    }, PROCESSES_TIMEOUT_MS);

    const asServer = <T>(body: (client: pg.Client) => Promise<T>) => withPostgres(asRole(db.url, server), body);

    test("a login that is not a member of chaukas_app is told so at start, not to migrate", async () => {
      const child = spawn(
        process.execPath,
        [join(ROOT, "dist", "src", "main.js"), "--port", "0", "--data-dir", join(dataDir, "stray")],
        { env: { ...process.env, DATABASE_URL: asRole(db.url, stray) }, stdio: ["ignore", "pipe", "pipe"] },
      );
      let stderr = "";
      child.stderr.on("data", (chunk) => {
        stderr += chunk;
      });
      expect(await exitOf(child)).toBe(1);
      expect(stderr).toContain(`role "${stray}" may not read the schema's tables: make it a member of chaukas_app`);
    });

    test.each(WRITE_ONCE_TABLES)("cannot disable or drop the write-once triggers of %s", async (table) => {
      await asServer(async (client) => {
        await expect(client.query(`ALTER TABLE ${table} DISABLE TRIGGER ALL`)).rejects.toThrow(/must be owner/);
        await expect(client.query(`ALTER TABLE ${table} DISABLE TRIGGER ${table}_append_only`)).rejects.toThrow(
          /must be owner/,
        );
        await expect(client.query(`DROP TRIGGER ${table}_append_only ON ${table}`)).rejects.toThrow(/must be owner/);
        await expect(client.query(`DROP TRIGGER ${table}_no_truncate ON ${table}`)).rejects.toThrow(/must be owner/);
      });
      const { rows } = await withPostgres(db.url, (admin) =>
        admin.query(
          "SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = $1::regclass AND NOT tgisinternal ORDER BY 1",
          [table],
        ),
      );
      expect(rows).toEqual([
        { tgname: `${table}_append_only`, tgenabled: "O" },
        { tgname: `${table}_no_truncate`, tgenabled: "O" },
      ]);
    });

    test("cannot switch row-level security off, nor alter or drop the tables", async () => {
      await asServer(async (client) => {
        for (const statement of [
          "ALTER TABLE events NO FORCE ROW LEVEL SECURITY",
          "ALTER TABLE events DISABLE ROW LEVEL SECURITY",
          "DROP POLICY events_tenant_isolation ON events",
          "ALTER POLICY events_tenant_isolation ON events USING (true)",
          "ALTER TABLE events ADD COLUMN extra text",
          "DROP TABLE audit_leaves",
          "TRUNCATE ingest_queue",
        ])
          await expect(client.query(statement), statement).rejects.toThrow(/must be owner|permission denied/);
        // Nor delete or change what it may only add to: the keys it may only create and revoke.
        await expect(client.query("DELETE FROM api_keys")).rejects.toThrow(/permission denied/);
        await expect(client.query("UPDATE api_keys SET role = 'admin'")).rejects.toThrow(/permission denied/);
      });
    });

    test("cannot choose the transaction a queued event counts as, which orders the audit log", async () => {
      await asServer(async (client) => {
        const queue = (columns: string, values: string) =>
          client.query(`BEGIN; SET LOCAL ROLE chaukas_all_tenants;
            INSERT INTO ingest_queue (tenant_id, event_id, content_hash, project_id, session_id, type, ts_ns, to_log, status, severity${columns})
            VALUES ('other', 'q-1', '', 'p', 's', 1, 0, true, 0, 0${values}); ROLLBACK`);
        await expect(queue(", stored_xid", ", '1'")).rejects.toThrow(/permission denied/);
        await client.query("ROLLBACK");
        await queue("", "");
      });
    });

    test("keeps the monthly partitions ready through the owner's function, and creates no table itself", async () => {
      const inTwoMonths = new Date();
      inTwoMonths.setUTCDate(1);
      inTwoMonths.setUTCMonth(inTwoMonths.getUTCMonth() + 2);
      const partition = `events_${inTwoMonths.getUTCFullYear()}_${String(inTwoMonths.getUTCMonth() + 1).padStart(2, "0")}`;
      await withPostgres(asRole(db.url, owner), (client) => client.query(`DROP TABLE ${partition}`));
      await asServer(async (client) => {
        await expect(client.query("CREATE TABLE events_stray (LIKE events)")).rejects.toThrow(/permission denied/);
        const { rows } = await client.query("SELECT partition_name, created FROM chaukas_prepare_event_partitions(2)");
        expect(rows).toEqual([{ partition_name: partition, created: true }]);
      });
      const { rows } = await withPostgres(db.url, (admin) =>
        admin.query("SELECT relowner::regrole::text AS owner FROM pg_class WHERE relname = $1", [partition]),
      );
      expect(rows).toEqual([{ owner }]);
    });

    test("setting chaukas.all_tenants reaches no other tenant's rows", async () => {
      await asServer(async (client) => {
        await client.query("SET chaukas.all_tenants = 'on'");
        expect((await client.query("SELECT count(*)::int AS n FROM events")).rows).toEqual([{ n: 0 }]);
        // The login inherits chaukas_all_tenants' rights, so that role's policies apply to it; they
        // admit the role itself, by name, and the login sees the tenant set until it takes the role.
        await client.query("BEGIN");
        await client.query("SELECT set_config('chaukas.tenant_id', 'default', true)");
        expect((await client.query("SELECT DISTINCT tenant_id FROM events")).rows).toEqual([{ tenant_id: "default" }]);
        await client.query("ROLLBACK");
        await client.query("BEGIN; SET LOCAL ROLE chaukas_tenant");
        await client.query("SELECT set_config('chaukas.all_tenants', 'on', true)");
        expect((await client.query("SELECT count(*)::int AS n FROM events")).rows).toEqual([{ n: 0 }]);
        await client.query("SELECT set_config('chaukas.tenant_id', 'default', true)");
        expect((await client.query("SELECT DISTINCT tenant_id FROM events")).rows).toEqual([{ tenant_id: "default" }]);
        await client.query("ROLLBACK");
        // All tenants is a role, which only roles granted it can take.
        await client.query("BEGIN; SET LOCAL ROLE chaukas_all_tenants");
        expect((await client.query("SELECT DISTINCT tenant_id FROM events ORDER BY 1")).rows).toEqual([
          { tenant_id: "default" },
          { tenant_id: "other" },
        ]);
        await client.query("ROLLBACK");
      });
      // A role that may take one tenant's scope may not take all of them.
      const reader = `chaukas_test_reader_${suffix}`;
      await withPostgres(ADMIN_URL, (admin) => admin.query(`CREATE ROLE ${reader} LOGIN IN ROLE chaukas_tenant`));
      try {
        await withPostgres(asRole(db.url, reader), async (client) => {
          await client.query("BEGIN; SET LOCAL ROLE chaukas_tenant; SET LOCAL chaukas.all_tenants = 'on'");
          expect((await client.query("SELECT count(*)::int AS n FROM events")).rows).toEqual([{ n: 0 }]);
          await client.query("ROLLBACK");
          await expect(client.query("SET ROLE chaukas_all_tenants")).rejects.toThrow(/permission denied/);
        });
      } finally {
        await withPostgres(ADMIN_URL, (admin) => admin.query(`DROP OWNED BY ${reader}; DROP ROLE ${reader}`));
      }
    });
  });
});
