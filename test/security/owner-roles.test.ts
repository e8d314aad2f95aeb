import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { expect, it } from "vitest";
import { migrate } from "../../src/store/sql/migrate.ts";
import { embeddedPoolConfig } from "../../src/store/sql/pglite-connection.ts";
import { inTenantScope } from "../../src/store/sql/pool.ts";
import { ALL_TENANTS } from "../../src/store/tenant-scope.ts";

const quietLog = { info: () => {} };

// PGlite is PostgreSQL 18. Since 16, a role created by a CREATEROLE owner is granted to that owner
// with ADMIN but without SET: a member on paper that cannot SET ROLE to it. docs/deployment.md
// lets such an owner (not a superuser) run the migrations and, with a warning, serve.
it("a schema owner with CREATEROLE but not superuser migrates, then takes one tenant's and all tenants' scope", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "chaukas-owner-"));
  const setup = await PGlite.create(dataDir);
  await setup.exec("CREATE ROLE schema_owner LOGIN CREATEROLE; GRANT CREATE ON SCHEMA public TO schema_owner");
  await setup.close();
  const db = await PGlite.create(dataDir, { username: "schema_owner" });
  const pool = new pg.Pool(embeddedPoolConfig(db));
  try {
    await expect(
      pool.query("SELECT current_user AS u, usesuper FROM pg_user WHERE usename = current_user"),
    ).resolves.toMatchObject({
      rows: [{ u: "schema_owner", usesuper: false }],
    });
    await migrate(pool, quietLog);
    // PGlite keeps its superuser as the session's user (`username` acts as SET ROLE), whom SET ROLE
    // never refuses: what a real owner's session needs is asked of the catalogue instead.
    const { rows } = await pool.query(
      "SELECT pg_has_role('chaukas_tenant', 'SET') AS tenant, pg_has_role('chaukas_all_tenants', 'SET') AS all_tenants",
    );
    expect(rows).toEqual([{ tenant: true, all_tenants: true }]);
    const count = (client: pg.PoolClient) => client.query<{ n: string }>("SELECT count(*) AS n FROM events");
    await expect(inTenantScope(pool, { tenantId: "acme" }, count)).resolves.toMatchObject({ rows: [{ n: "0" }] });
    await expect(inTenantScope(pool, ALL_TENANTS, count)).resolves.toMatchObject({ rows: [{ n: "0" }] });
  } finally {
    await pool.end();
    await db.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

it("a scope that cannot be taken leaves its connection usable for the next statement", async () => {
  const db = await PGlite.create();
  await db.exec(
    "CREATE ROLE outsider LOGIN; CREATE TABLE chaukas_probe (n int); GRANT SELECT ON chaukas_probe TO outsider",
  );
  const pool = new pg.Pool(embeddedPoolConfig(db));
  try {
    // No chaukas roles exist here: taking a scope fails after the transaction has begun.
    await expect(inTenantScope(pool, { tenantId: "acme" }, async () => {})).rejects.toThrow(/chaukas_tenant/);
    await expect(pool.query("SELECT count(*) AS n FROM chaukas_probe")).resolves.toMatchObject({ rows: [{ n: "0" }] });
  } finally {
    await pool.end();
    await db.close();
  }
});
