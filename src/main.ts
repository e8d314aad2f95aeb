import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { pino } from "pino";
import { ConfigError, loadConfig } from "./config.ts";
import { EventService } from "./domain/event-service.ts";
import { PageTokenCodec } from "./domain/page-token.ts";
import { DataDirLockedError } from "./store/data-dir-lock.ts";
import { openEventStore } from "./store/open-store.ts";
import { buildServer } from "./transport/server.ts";

/** Starts the server from flags and environment; stops gracefully on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  const config = loadConfig(process.argv.slice(2), process.env);
  const log = pino({ level: config.logLevel, redact: ["req.headers.authorization", 'req.headers["x-api-key"]'] });
  const store = await openEventStore(
    config.databaseUrl
      ? { kind: "postgres", databaseUrl: config.databaseUrl, poolSize: config.pgPoolSize }
      : { kind: "embedded", dataDir: config.dataDir },
    { info: (msg) => log.info(msg), error: (obj, msg) => log.error(obj, msg) },
  );
  const pageTokenKey = await store.sharedSecret("page-token-key", () => randomBytes(32));
  const events = new EventService(store, new PageTokenCodec(pageTokenKey));
  const app = await buildServer(events, {
    maxBodyBytes: config.maxBodyBytes,
    corsOrigins: config.corsOrigins,
    tls:
      config.tlsCertFile && config.tlsKeyFile
        ? { cert: readFileSync(config.tlsCertFile), key: readFileSync(config.tlsKeyFile) }
        : undefined,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
    logger: log,
  });
  app.addHook("onClose", () => store.close());

  let stopping = false;
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      app.log.info(`${signal}: finishing in-flight requests, then closing`);
      app.close().then(
        () => process.exit(0),
        (err) => {
          app.log.error({ err }, "shutdown failed");
          process.exit(1);
        },
      );
    });
  }

  await app.listen({ host: config.host, port: config.port });
  app.log.info(
    { store: config.databaseUrl ? "postgres" : `embedded (${config.dataDir})`, tls: Boolean(config.tlsCertFile) },
    "chaukas server ready",
  );
}

main().catch((err) => {
  if (err instanceof ConfigError || err instanceof DataDirLockedError) {
    console.error(`chaukas: ${err.message}`);
  } else {
    console.error("chaukas: failed to start", err);
  }
  process.exit(1);
});
