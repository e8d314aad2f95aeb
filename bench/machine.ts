import os from "node:os";
import pg from "pg";
import { round } from "./stats.ts";

export interface Machine {
  nproc: number;
  cpu: string;
  memoryGiB: number;
  node: string;
  postgres: string;
  postgresSettings: Record<string, string>;
  loadAverageAtStart: number[];
  loadAverageAtEnd?: number[];
}

/** What the figures were measured on: cores, memory, Node.js, PostgreSQL and its write settings. */
export async function machineInfo(databaseUrl: string): Promise<Machine> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const { rows } = await client.query<{ server_version: string }>("SHOW server_version");
  const settings = await client.query<{ name: string; setting: string; unit: string | null }>(
    `SELECT name, setting, unit FROM pg_settings
     WHERE name IN ('shared_buffers', 'synchronous_commit', 'fsync', 'max_wal_size', 'wal_level')`,
  );
  await client.end();
  return {
    nproc: os.availableParallelism(),
    cpu: os.cpus()[0]?.model ?? "",
    memoryGiB: round(os.totalmem() / 1024 ** 3, 1),
    node: process.version,
    postgres: rows[0].server_version,
    postgresSettings: Object.fromEntries(
      settings.rows.map((r) => [r.name, r.unit ? `${r.setting} (${r.unit})` : r.setting]),
    ),
    loadAverageAtStart: os.loadavg().map((n) => round(n, 2)),
  };
}
