import { join } from "node:path";
import type { ServerProcess } from "../kit/server-process.ts";
import type { BenchDatabase } from "./database.ts";
import type { Options } from "./options.ts";
import { startBenchServer } from "./server.ts";

/** What every part of a run works with. */
export interface BenchContext {
  readonly o: Options;
  /** The scratch PostgreSQL database; parts empty it before each measured run. */
  readonly db: BenchDatabase;
  /** Server logs and embedded data directories; removed at the end of the run. */
  readonly tmp: string;
}

/** A server for one measured run, its log in `tmp/server-<name>.log`, with the run's log level and Node.js flags. */
export function startServer(
  ctx: BenchContext,
  name: string,
  store: { databaseUrl?: string; dataDir?: string },
  serverFlags: string[] = [],
): Promise<ServerProcess> {
  return startBenchServer({
    ...store,
    logFile: join(ctx.tmp, `server-${name}.log`),
    logLevel: ctx.o.serverLogLevel,
    nodeFlags: ctx.o.serverNodeFlags,
    serverFlags,
  });
}
