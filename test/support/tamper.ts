import pg from "pg";

/**
 * Runs SQL (several statements allowed) on a PostgreSQL database as its superuser with triggers
 * off (session_replication_role = replica), as someone bypassing the write-once triggers would.
 */
export async function tamperWith(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`SET session_replication_role = replica; ${sql}`);
  } finally {
    await client.end();
  }
}
