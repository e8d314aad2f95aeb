import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { BodyBudget } from "./api/http/body-budget.ts";
import { readinessRoute } from "./api/http/readiness-route.ts";
import { addressOf, metricsRoute, serveMetrics } from "./api/metrics/metrics-route.ts";
import { PrometheusMetrics } from "./api/metrics/prometheus.ts";
import { buildServer, type ServerOptions } from "./api/server.ts";
import { setUpAuditTrail } from "./app/audit-setup.ts";
import { packageVersion } from "./app/package-version.ts";
import { announceServer } from "./app/server-announcement.ts";
import { type Config, ConfigError } from "./config.ts";
import { Administration } from "./core/administration.ts";
import { type Authenticator, KeyAuthenticator, NO_AUTH } from "./core/authenticator.ts";
import { EventService, type EventServiceOptions } from "./core/event-service.ts";
import { defaultMaxHeapBytes, IngestGate } from "./core/ingest-gate.ts";
import { IngestQueueDrain } from "./core/ingest-queue-drain.ts";
import { bootstrapAdminKey } from "./core/key-admin.ts";
import { PageTokenCodec } from "./core/page-token.ts";
import { partitionJob } from "./core/partition-job.ts";
import { RateLimiter } from "./core/rate-limiter.ts";
import { Readiness } from "./core/readiness.ts";
import { RetentionJob } from "./core/retention/retention-job.ts";
import { TailHub } from "./core/tail/tail-hub.ts";
import type { PeriodicTask } from "./lib/periodic-task.ts";
import type { Database } from "./store/database.ts";
import { DataDirLockedError } from "./store/sql/data-dir-lock.ts";
import { openDatabase, type StoreLog } from "./store/sql/open-store.ts";
import { migrateWith, SchemaBehindError, ServingRoleNotGrantedError } from "./store/sql/serving-role.ts";
import { DatabaseStartupError } from "./store/sql/startup-errors.ts";

/**
 * The composition root: the one place that builds the application's parts from its settings, for
 * the server (main.ts), the CLI (cli/main.ts) and the tests.
 */

/** The event use cases over `store`. Page tokens signed with a random key last as long as the process. */
export function eventService(
  store: Database,
  options: EventServiceOptions & { pageTokenKey?: Uint8Array } = {},
): EventService {
  const { pageTokenKey = randomBytes(32), ...rest } = options;
  return new EventService(store, new PageTokenCodec(pageTokenKey), rest);
}

/** The administrator's use cases over `store`; checkpoints verify by the key the database recorded. */
export function administration(store: Database, events: EventService): Administration {
  return new Administration(store, events);
}

/**
 * The CLI's database, named by the same settings as the server's: statements unbounded (its work is
 * long) and a small pool.
 */
export function openCliStore(
  settings: Pick<Config, "databaseUrl" | "databaseReadUrl" | "dataDir">,
  log: StoreLog,
): Promise<Database> {
  return openDatabase(
    settings.databaseUrl
      ? { kind: "postgres", databaseUrl: settings.databaseUrl, readDatabaseUrl: settings.databaseReadUrl, poolSize: 4 }
      : { kind: "embedded", dataDir: settings.dataDir },
    log,
  );
}

/** Creates or upgrades the schema: as the role of `ownerUrl` in PostgreSQL, else by opening the embedded database. */
export async function migrateSchema(
  ownerUrl: string | undefined,
  dataDir: string,
  log: { info(msg: string): void },
): Promise<void> {
  if (ownerUrl) return migrateWith(ownerUrl, log);
  const store = await openCliStore({ dataDir }, { ...log, error: (obj, msg) => console.error(msg, obj) });
  await store.close();
}

/** Start-up errors whose message says all the operator needs: bad settings, a data directory in use, a schema behind. */
export function isStartupProblem(err: unknown): err is Error {
  return (
    err instanceof ConfigError ||
    err instanceof DataDirLockedError ||
    err instanceof SchemaBehindError ||
    err instanceof ServingRoleNotGrantedError ||
    err instanceof DatabaseStartupError
  );
}

/** How often live tails look for new events: well inside the tail's 1 s target, a cheap statement while idle. */
export const TAIL_POLL_MS = 100;

export interface ServerApp {
  /** Closing it also stops the ingest queue drain and closes the store. */
  server: FastifyInstance;
  queueDrain: IngestQueueDrain;
  /** Purges what the retention policies say has expired: start() it with the drain. */
  retentionJob: RetentionJob;
  /** Keeps the events' monthly partitions ready: start() it with the drain. */
  partitionJob: PeriodicTask;
  authenticator: Authenticator;
  /** `GET /readyz`'s answer; drain() it on SIGTERM. */
  readiness: Readiness;
}

/** The server: its store, authenticator, ingest bounds, use cases and audit trail, behind every protocol. */
export async function buildServerApp(config: Config, log: Logger): Promise<ServerApp> {
  // The store, pool and queue drain the metrics read are made below; the metrics need them only when scraped.
  const parts: { store?: Database; queueDrain?: IngestQueueDrain } = {};
  const metrics = new PrometheusMetrics(
    {
      connections: () => parts.store?.connections() ?? { open: 0, idle: 0, waiting: 0 },
      queueDepth: async () => (parts.store ? parts.store.audit.queueDepth() : 0),
      caughtUpAt: () => parts.queueDrain?.caughtUpAt,
      integratesHere: () => parts.queueDrain?.integratesHere ?? false,
    },
    { version: packageVersion(), tenantLabel: config.metricsTenantLabel },
  );
  const store = await openDatabase(
    config.databaseUrl
      ? {
          kind: "postgres",
          databaseUrl: config.databaseUrl,
          migrateDatabaseUrl: config.migrateDatabaseUrl,
          readDatabaseUrl: config.databaseReadUrl,
          poolSize: config.pgPoolSize,
          timeouts: { statementMs: config.dbStatementTimeoutMs, connectMs: config.dbConnectTimeoutMs },
          auditTrail: !config.disableAuditTrail,
          metrics,
        }
      : {
          kind: "embedded",
          dataDir: config.dataDir,
          cacheMb: config.embeddedCacheMb,
          auditTrail: !config.disableAuditTrail,
          metrics,
        },
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
      { failureLimiter, metrics },
    );
    const first = await bootstrapAdminKey(store.keys);
    if (first) announceFirstKey(first, adminKeyFile(config));
  }

  const pageTokenKey = await store.sharedSecret("page-token-key", () => randomBytes(32));
  const gate = new IngestGate(
    {
      maxInFlightEvents: config.maxInflightEvents,
      maxHeapBytes: config.maxIngestHeapMb ? config.maxIngestHeapMb * 1024 * 1024 : defaultMaxHeapBytes(),
    },
    metrics,
  );
  const bodyBudget = new BodyBudget(config.maxInflightBodyMb * 1024 * 1024, metrics);
  log.info(
    { ingestBounds: gate.options, maxInflightBodyBytes: bodyBudget.maxBytes },
    "ingest is refused past these bounds",
  );
  const events = eventService(store, {
    pageTokenKey,
    gate,
    rbac: authenticator.enforced,
    auditTrail: !config.disableAuditTrail,
    metrics,
  });
  if (config.disableAuditTrail) log.warn("--disable-audit-trail: events stored now will never be in the audit log");
  const audit = await setUpAuditTrail(store, config, log);
  const queueDrain = new IngestQueueDrain(audit, config.checkpointIntervalMs, log, () => store.holdsBackgroundLease());
  const retentionJob = new RetentionJob(store, log);
  const partitions = partitionJob(store, log);
  const tail = new TailHub(
    store,
    {
      pollMs: TAIL_POLL_MS,
      heartbeatMs: config.tailHeartbeatMs,
      maxStreamMs: config.tailMaxStreamMs,
      bufferEvents: config.tailBufferEvents,
      maxTailsPerKey: config.maxTailsPerKey,
    },
    (err) => log.warn({ err }, "reading new events for live tails failed; trying again"),
  );
  const server = await buildServer(events, {
    audit,
    admin: administration(store, events),
    tail,
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
    otlp: { maxBodyBytes: config.otlpMaxBodyBytes, pathPrefix: config.otlpPathPrefix },
    logger: log,
    ui: dashboard(config, log),
    metrics,
  });
  Object.assign(parts, { store, queueDrain });
  const readiness = new Readiness(store);
  readinessRoute(server, readiness);
  if (config.metrics === "on") metricsRoute(server, metrics);
  const metricsAddress = config.metrics !== "on" && config.metrics !== "off" ? config.metrics : undefined;
  let metricsServer: Awaited<ReturnType<typeof serveMetrics>> | undefined;
  // Before the server's own port opens, so a metrics address in use fails the start.
  server.addHook("onReady", async () => {
    if (!metricsAddress) return;
    metricsServer = await serveMetrics(metrics, metricsAddress.host, metricsAddress.port);
    log.info(`metrics served at ${addressOf(metricsServer)}/metrics`);
  });
  // The CLI in the same data directory administers through this server (app/server-announcement.ts).
  let withdraw: (() => void) | undefined;
  if (!config.databaseUrl) {
    server.addHook("onListen", async () => {
      withdraw = announceServer(config.dataDir, server.server.address() as AddressInfo, Boolean(config.tlsCertFile));
    });
  }
  server.addHook("onClose", async () => {
    withdraw?.();
    metricsServer?.closeAllConnections();
    metricsServer?.close();
    await retentionJob.stop();
    await partitions.stop();
    await queueDrain.stop();
    await store.close();
  });
  return { server, queueDrain, retentionJob, partitionJob: partitions, authenticator, readiness };
}

/**
 * Where the first admin key of the configured store is kept: `admin-key` in the data directory for
 * the embedded database, `admin-key-postgres-<host>-<port>-<database>` beside it for a PostgreSQL
 * one, so that a key of one store never takes the place of another's.
 */
export function adminKeyFile(config: Pick<Config, "databaseUrl" | "dataDir">): string {
  if (!config.databaseUrl) return join(config.dataDir, "admin-key");
  const url = new URL(config.databaseUrl);
  const database = decodeURIComponent(url.pathname.slice(1)) || decodeURIComponent(url.username) || "postgres";
  const name = [url.hostname || "localhost", url.port || "5432", database].join("-").replace(/[^\w.-]/g, "_");
  return join(config.dataDir, `admin-key-postgres-${name}`);
}

/** The dashboard as `npm run build` leaves it in dist/ui, unless turned off or not built. */
function dashboard(config: Config, log: Logger): ServerOptions["ui"] {
  if (config.disableUi) return undefined;
  // The package's root: two levels up from dist/src/app.js, one from src/app.ts.
  let root = import.meta.dirname;
  while (!existsSync(join(root, "package.json")) && dirname(root) !== root) root = dirname(root);
  const dir = join(root, "dist", "ui");
  if (!existsSync(join(dir, "index.html"))) {
    log.warn(`the dashboard is not built (no ${dir}/index.html): run npm run build to serve it at /`);
    return undefined;
  }
  return { dir, transport: config.uiTransport };
}

/**
 * The first admin key is shown once, on stdout and not through the logger, and kept in a file only
 * the owner can read, so a fresh install is usable at once and closed to everyone else. An existing
 * file is never overwritten: it may hold the only copy of another database's key.
 */
function announceFirstKey(first: { id: string; secret: string }, file: string): void {
  mkdirSync(dirname(file), { recursive: true });
  let saved: string;
  try {
    writeFileSync(file, `${first.secret}\n`, { mode: 0o600, flag: "wx" });
    saved = `and saved in ${file} (readable only by you)`;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    saved = `and NOT saved: ${file} already exists, and is left as it is`;
  }
  process.stdout.write(
    `\nCreated the first API key: admin of tenant "default" (id ${first.id}). It is shown only this once,\n` +
      `${saved}. Create others with, e.g.:\n  npx chaukas keys create --tenant default --role read\n\n` +
      `${first.secret}\n\n`,
  );
}
