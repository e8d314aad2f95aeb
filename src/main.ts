import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import { BodyBudget } from "./api/http/body-budget.ts";
import { buildServer } from "./api/server.ts";
import { setUpAuditTrail } from "./app/audit-setup.ts";
import { ConfigError, loadConfig } from "./config.ts";
import { Checkpointer } from "./core/audit/checkpointer.ts";
import { KeyAuthenticator, NO_AUTH } from "./core/authenticator.ts";
import { EventService } from "./core/event-service.ts";
import { defaultMaxHeapBytes, IngestGate } from "./core/ingest-gate.ts";
import { bootstrapAdminKey } from "./core/key-admin.ts";
import { PageTokenCodec } from "./core/page-token.ts";
import { RateLimiter } from "./core/rate-limiter.ts";
import { isLoopback } from "./lib/loopback.ts";
import { DataDirLockedError } from "./store/sql/data-dir-lock.ts";
import { openEventStore } from "./store/sql/open-store.ts";
import { SchemaBehindError } from "./store/sql/serving-role.ts";

/** Starts the server from flags and environment; stops gracefully on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  const config = loadConfig(process.argv.slice(2), process.env);
  if (config.insecureNoAuth && !isLoopback(config.host)) {
    throw new ConfigError(`--insecure-no-auth is for local experiments: refusing to serve ${config.host} without keys`);
  }
  const log = pino({ level: config.logLevel, redact: ["req.headers.authorization", 'req.headers["x-api-key"]'] });
  const store = await openEventStore(
    config.databaseUrl
      ? {
          kind: "postgres",
          databaseUrl: config.databaseUrl,
          migrateDatabaseUrl: config.migrateDatabaseUrl,
          poolSize: config.pgPoolSize,
          timeouts: { statementMs: config.dbStatementTimeoutMs, connectMs: config.dbConnectTimeoutMs },
          auditTrail: !config.disableAuditTrail,
        }
      : { kind: "embedded", dataDir: config.dataDir, auditTrail: !config.disableAuditTrail },
    { info: (msg) => log.info(msg), warn: (msg) => log.warn(msg), error: (obj, msg) => log.error(obj, msg) },
  );

  let authenticator = NO_AUTH;
  if (config.insecureNoAuth) {
    log.warn("--insecure-no-auth: anyone who can reach this port can read and write every tenant's events");
  } else {
    const rateLimiter = config.rateLimit > 0 ? new RateLimiter(config.rateLimit, config.rateLimit * 2) : undefined;
    const failureLimiter =
      config.failedAuthLimit > 0
        ? new RateLimiter(config.failedAuthLimit, config.failedAuthLimit * 10, "failed authentications/s from")
        : undefined;
    authenticator = new KeyAuthenticator(
      store.keys,
      rateLimiter,
      (err) => log.warn({ err }, "recording key use failed"),
      { failureLimiter },
    );
    const first = await bootstrapAdminKey(store.keys);
    if (first) announceFirstKey(first, config.dataDir);
  }

  const pageTokenKey = await store.sharedSecret("page-token-key", () => randomBytes(32));
  const gate = new IngestGate({
    maxInFlightEvents: config.maxInflightEvents,
    maxHeapBytes: config.maxIngestHeapMb ? config.maxIngestHeapMb * 1024 * 1024 : defaultMaxHeapBytes(),
  });
  const bodyBudget = new BodyBudget(config.maxInflightBodyMb * 1024 * 1024);
  log.info(
    { ingestBounds: gate.options, maxInflightBodyBytes: bodyBudget.maxBytes },
    "ingest is refused past these bounds",
  );
  const events = new EventService(store, new PageTokenCodec(pageTokenKey), {
    gate,
    rbac: authenticator.enforced,
    auditTrail: !config.disableAuditTrail,
  });
  if (config.disableAuditTrail) log.warn("--disable-audit-trail: events stored now will never be in the audit log");
  const audit = await setUpAuditTrail(store, config, log);
  const checkpointer = new Checkpointer(audit, config.checkpointIntervalMs, log);
  const app = await buildServer(events, {
    audit,
    authenticator,
    maxBodyBytes: config.maxBodyBytes,
    bodyBudget,
    corsOrigins: config.corsOrigins,
    tls:
      config.tlsCertFile && config.tlsKeyFile
        ? { cert: readFileSync(config.tlsCertFile), key: readFileSync(config.tlsKeyFile) }
        : undefined,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
    sdkPathPrefix: config.sdkPathPrefix,
    logger: log,
  });
  app.addHook("onClose", async () => {
    await checkpointer.stop();
    await store.close();
  });

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
  checkpointer.start();
  app.log.info(
    {
      store: config.databaseUrl ? "postgres" : `embedded (${config.dataDir})`,
      tls: Boolean(config.tlsCertFile),
      auth: authenticator.enforced ? "api keys" : "none (--insecure-no-auth)",
    },
    "chaukas server ready",
  );
}

/**
 * The first admin key is shown once, on stdout and not through the logger, and kept in a file only
 * the owner can read, so a fresh install is usable at once and closed to everyone else.
 */
function announceFirstKey(first: { id: string; secret: string }, dataDir: string): void {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, "admin-key");
  writeFileSync(file, `${first.secret}\n`, { mode: 0o600 });
  process.stdout.write(
    `\nCreated the first API key: admin of tenant "default" (id ${first.id}). It is shown only this once,\n` +
      `and saved in ${file} (readable only by you). Create others with: npx chaukas keys create\n\n` +
      `${first.secret}\n\n`,
  );
}

main().catch((err) => {
  if (err instanceof ConfigError || err instanceof DataDirLockedError || err instanceof SchemaBehindError) {
    console.error(`chaukas: ${err.message}`);
  } else {
    console.error("chaukas: failed to start", err);
  }
  process.exit(1);
});
