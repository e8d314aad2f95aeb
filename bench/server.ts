import { type ServerProcess, startServerProcess } from "../kit/server-process.ts";

export interface BenchServer {
  /** PostgreSQL connection string, or undefined for the embedded store in `dataDir`. */
  databaseUrl?: string;
  dataDir?: string;
  /** Where the server's JSON log lines go (a file: reading it costs the measurement nothing). */
  logFile: string;
  logLevel: string;
  /** Node.js flags besides npm start's, e.g. `--cpu-prof --cpu-prof-dir=DIR`. */
  nodeFlags?: string[];
  /** Server flags, e.g. `--disable-audit-trail`. */
  serverFlags?: string[];
  /** Check API keys (the first admin key is written to adminKeyFile() in the data directory); default: without keys. */
  keys?: boolean;
}

/**
 * The server as `npm start` runs it, on 127.0.0.1, without keys unless asked (--insecure-no-auth)
 * and without the per-key rate limit, so the figures are the server's and not the limiter's.
 */
export function startBenchServer(o: BenchServer): Promise<ServerProcess> {
  const args = ["--host", "127.0.0.1", ...(o.keys ? [] : ["--insecure-no-auth"]), "--rate-limit", "0"];
  args.push("--log-level", o.logLevel, ...(o.serverFlags ?? []));
  if (o.databaseUrl) args.push("--database-url", o.databaseUrl);
  else if (o.dataDir) args.push("--data-dir", o.dataDir);
  return startServerProcess(args, { nodeFlags: o.nodeFlags, logFile: o.logFile });
}
