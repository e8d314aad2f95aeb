import { parseArgs } from "node:util";

export interface Config {
  host: string;
  port: number;
  /** PostgreSQL connection string; unset means the embedded database in `dataDir`. */
  databaseUrl?: string;
  /** The schema owner's connection string, used only to migrate at start. */
  migrateDatabaseUrl?: string;
  /** A streaming replica's connection string for queries, stats, proofs and exports. */
  databaseReadUrl?: string;
  dataDir: string;
  /** The embedded database's page cache (PostgreSQL's shared_buffers), in MiB. */
  embeddedCacheMb: number;
  pgPoolSize: number;
  dbStatementTimeoutMs: number;
  dbConnectTimeoutMs: number;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  maxBodyBytes: number;
  corsOrigins: string[];
  logLevel: string;
  shutdownTimeoutMs: number;
  drainMs: number;
  sdkPathPrefix: string;
  otlpMaxBodyBytes: number;
  otlpPathPrefix: string;
  maxInflightEvents: number;
  maxIngestHeapMb?: number;
  maxInflightBodyMb: number;
  insecureNoAuth: boolean;
  rateLimit: number;
  failedAuthLimit: number;
  auditKeyFile?: string;
  auditLogName: string;
  checkpointIntervalMs: number;
  disableAuditTrail: boolean;
  disableUi: boolean;
  uiTransport: "grpc-web" | "connect";
  tailHeartbeatMs: number;
  tailMaxStreamMs: number;
  tailBufferEvents: number;
  maxTailsPerKey: number;
  /** Where `GET /metrics` is served: on the server's port, nowhere, or on an address of its own. */
  metrics: MetricsSetting;
  metricsTenantLabel: boolean;
}

export type MetricsSetting = "on" | "off" | { host: string; port: number };

interface Setting {
  key: keyof Config;
  flag: string;
  env: string;
  defaultValue?: string;
  parse: (raw: string, name: string) => Config[keyof Config];
  /** The value when the setting is given nowhere and has no default. */
  unset?: Config[keyof Config];
  description: string;
}

const text = (raw: string) => raw;
const list = (raw: string) =>
  raw
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
// Digits only: Number() alone would also take "0x50", "1e3" or " 80 ".
const positiveInt = (raw: string, name: string) => {
  const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(n) || n <= 0) throw new ConfigError(`${name} must be a positive integer, got "${raw}"`);
  return n;
};
const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];
// Checked here so a typo is a clear ConfigError instead of pino's exception at startup.
const logLevel = (raw: string, name: string) => {
  if (!LOG_LEVELS.includes(raw)) throw new ConfigError(`${name} must be one of ${LOG_LEVELS.join(", ")}, got "${raw}"`);
  return raw;
};

/** Every setting, once: flags, environment variables, defaults and the README table come from here. */
export const SETTINGS: readonly Setting[] = [
  {
    key: "host",
    flag: "host",
    env: "CHAUKAS_HOST",
    defaultValue: "127.0.0.1",
    parse: text,
    description: "Address to bind.",
  },
  {
    key: "port",
    flag: "port",
    env: "CHAUKAS_PORT",
    defaultValue: "50051",
    parse: (raw, name) => portNumber(raw, name),
    description: "TCP port for every protocol (HTTP/1.1 and HTTP/2); 0 picks a free one.",
  },
  {
    key: "databaseUrl",
    flag: "database-url",
    env: "DATABASE_URL",
    parse: postgresUrl,
    description: "PostgreSQL connection string. Unset: the embedded database (PGlite) in the data directory.",
  },
  {
    key: "migrateDatabaseUrl",
    flag: "migrate-database-url",
    env: "CHAUKAS_MIGRATE_DATABASE_URL",
    parse: postgresUrl,
    description:
      "Connection string of the role that owns the schema, used only to migrate it at start; requests are served with `DATABASE_URL`'s role (see [docs/deployment.md](docs/deployment.md)).",
  },
  {
    key: "databaseReadUrl",
    flag: "database-read-url",
    env: "DATABASE_READ_URL",
    parse: postgresUrl,
    description:
      "Connection string of a streaming replica of `DATABASE_URL`: queries, stats, sessions, usage and proofs read there, everything else on the primary (see [docs/scaling.md](docs/scaling.md#4-read-replicas)).",
  },
  {
    key: "dataDir",
    flag: "data-dir",
    env: "CHAUKAS_DATA_DIR",
    defaultValue: "./data",
    parse: text,
    description: "Data directory of the embedded database (locked to one process).",
  },
  {
    key: "embeddedCacheMb",
    flag: "embedded-cache-mb",
    env: "CHAUKAS_EMBEDDED_CACHE_MB",
    defaultValue: "16",
    parse: positiveInt,
    description:
      "Embedded database: its page cache in MiB (PostgreSQL's `shared_buffers`), held from start; more trades RSS for fewer reads of the data files ([docs/operations.md](docs/operations.md#the-embedded-databases-memory)).",
  },
  {
    key: "pgPoolSize",
    flag: "pg-pool-size",
    env: "CHAUKAS_PG_POOL_SIZE",
    defaultValue: "10",
    parse: positiveInt,
    description:
      "Most PostgreSQL connections this process opens for requests; one more holds or tries the background lease, and with `DATABASE_READ_URL` as many again to the replica.",
  },
  {
    key: "dbStatementTimeoutMs",
    flag: "db-statement-timeout-ms",
    env: "CHAUKAS_DB_STATEMENT_TIMEOUT_MS",
    defaultValue: "30000",
    parse: nonNegativeInt,
    description:
      "PostgreSQL: longest a statement of a request may run (`statement_timeout`; a database that answers nothing is given up 2 s later). Past it the request answers `unavailable` (HTTP 503) with Retry-After. 0: no bound.",
  },
  {
    key: "dbConnectTimeoutMs",
    flag: "db-connect-timeout-ms",
    env: "CHAUKAS_DB_CONNECT_TIMEOUT_MS",
    defaultValue: "10000",
    parse: positiveInt,
    description:
      "PostgreSQL: longest a request waits for a connection (a free one of the pool, or a new one). Past it: `unavailable` (HTTP 503) with Retry-After.",
  },
  {
    key: "tlsCertFile",
    flag: "tls-cert",
    env: "CHAUKAS_TLS_CERT",
    parse: text,
    description: "PEM certificate file. With the key: TLS, ALPN h2 and http/1.1.",
  },
  { key: "tlsKeyFile", flag: "tls-key", env: "CHAUKAS_TLS_KEY", parse: text, description: "PEM private key file." },
  {
    key: "maxBodyBytes",
    flag: "max-body-bytes",
    env: "CHAUKAS_MAX_BODY_BYTES",
    defaultValue: String(4 * 1024 * 1024),
    parse: positiveInt,
    description: "Largest request body accepted, in bytes; larger ones are refused (`resource_exhausted`).",
  },
  {
    key: "corsOrigins",
    flag: "cors-origins",
    env: "CHAUKAS_CORS_ORIGINS",
    defaultValue: "",
    parse: list,
    unset: [],
    description:
      "Comma-separated browser origins allowed to call (CORS), e.g. `https://dash.example.com`. Empty: none.",
  },
  {
    key: "logLevel",
    flag: "log-level",
    env: "CHAUKAS_LOG_LEVEL",
    defaultValue: "info",
    parse: logLevel,
    description: "fatal, error, warn, info, debug, trace or silent.",
  },
  {
    key: "shutdownTimeoutMs",
    flag: "shutdown-timeout-ms",
    env: "CHAUKAS_SHUTDOWN_TIMEOUT_MS",
    defaultValue: "10000",
    parse: positiveInt,
    description: "On SIGTERM/SIGINT, how long in-flight requests may finish before they are aborted.",
  },
  {
    key: "drainMs",
    flag: "drain-ms",
    env: "CHAUKAS_DRAIN_MS",
    defaultValue: "0",
    parse: nonNegativeInt,
    description:
      "On SIGTERM, how long `GET /readyz` answers 503 while everything is still served, before the port closes: give it your load balancer's time to notice (probe period × failures). SIGINT does not wait.",
  },
  {
    key: "sdkPathPrefix",
    flag: "sdk-path-prefix",
    env: "CHAUKAS_SDK_PATH_PREFIX",
    parse: pathPrefix,
    unset: "",
    description:
      "Path under which the SDK routes `/events` and `/events/batch` are mounted, e.g. `/api` when CHAUKAS_ENDPOINT is `https://host/api`.",
  },
  {
    key: "otlpMaxBodyBytes",
    flag: "otlp-max-body-bytes",
    env: "CHAUKAS_OTLP_MAX_BODY_BYTES",
    defaultValue: String(20 * 1024 * 1024),
    parse: positiveInt,
    description:
      "Largest OTLP export accepted (OTLP/HTTP and OTLP/gRPC), in bytes, compressed and once gunzipped; larger ones are refused (HTTP 413 / `resource_exhausted`). See [docs/otlp.md](docs/otlp.md).",
  },
  {
    key: "otlpPathPrefix",
    flag: "otlp-path-prefix",
    env: "CHAUKAS_OTLP_PATH_PREFIX",
    parse: pathPrefix,
    unset: "",
    description:
      "Path under which OTLP/HTTP's `/v1/traces` and `/v1/logs` are mounted, e.g. `/otlp` for `OTEL_EXPORTER_OTLP_ENDPOINT=https://host/otlp`.",
  },
  {
    key: "maxInflightEvents",
    flag: "max-inflight-events",
    env: "CHAUKAS_MAX_INFLIGHT_EVENTS",
    defaultValue: "50000",
    parse: positiveInt,
    description:
      'Ingest bound: most events being validated and written at once. Past it, ingest is refused (HTTP 503 "high memory usage" / `resource_exhausted`) with Retry-After.',
  },
  {
    key: "maxIngestHeapMb",
    flag: "max-ingest-heap-mb",
    env: "CHAUKAS_MAX_INGEST_HEAP_MB",
    parse: positiveInt,
    description:
      "Ingest bound: refuse ingest while the JS heap holds more than this many MiB. Default: 3/4 of Node's heap limit.",
  },
  {
    key: "maxInflightBodyMb",
    flag: "max-inflight-body-mb",
    env: "CHAUKAS_MAX_INFLIGHT_BODY_MB",
    defaultValue: "48",
    parse: positiveInt,
    description:
      'Most MiB of request bodies held in memory at once, across all requests. A request reserves its Content-Length (the whole `--max-body-bytes` when compressed, or undeclared on a plain route; an RPC without one reserves 64 KiB and more as its body arrives) before its body is read; past the bound it is refused (HTTP 503 "high memory usage" / `resource_exhausted`) with Retry-After.',
  },
  {
    key: "rateLimit",
    flag: "rate-limit",
    env: "CHAUKAS_RATE_LIMIT",
    defaultValue: "1000",
    parse: nonNegativeInt,
    description:
      "Requests per second each API key may make (bursts up to twice that), per server process; 0 turns it off. Past it: HTTP 429 / `resource_exhausted` with Retry-After.",
  },
  {
    key: "failedAuthLimit",
    flag: "failed-auth-limit",
    env: "CHAUKAS_FAILED_AUTH_LIMIT",
    defaultValue: "10",
    parse: nonNegativeInt,
    description:
      "Failed authentications per second each client address may make (bursts up to ten times that), per server process; 0 turns it off. Past it, every request from that address whose key must be looked up in the database is refused unread: HTTP 429 / `resource_exhausted` with Retry-After. Behind a proxy all clients share its address.",
  },
  {
    key: "insecureNoAuth",
    flag: "insecure-no-auth",
    env: "CHAUKAS_INSECURE_NO_AUTH",
    defaultValue: "false",
    parse: yesNo,
    description:
      "Serve without API keys, for local experiments only: refused on a non-loopback address, warned about at start.",
  },
  {
    key: "auditKeyFile",
    flag: "audit-key-file",
    env: "CHAUKAS_AUDIT_KEY_FILE",
    parse: text,
    description:
      "Ed25519 private key (PKCS#8 PEM) that signs audit checkpoints. Default: `audit-key.pem` in the data directory, created on first start (mode 0600). Every server on one database must use the same key.",
  },
  {
    key: "auditLogName",
    flag: "audit-log-name",
    env: "CHAUKAS_AUDIT_LOG_NAME",
    defaultValue: "chaukas",
    parse: keyName,
    description:
      "Name of this deployment's audit logs: the signing key's name, and the origin `<name>/<tenant>` of each tenant's checkpoints. A domain name you own makes it unique.",
  },
  {
    key: "checkpointIntervalMs",
    flag: "checkpoint-interval-ms",
    env: "CHAUKAS_CHECKPOINT_INTERVAL_MS",
    defaultValue: "1000",
    parse: positiveInt,
    description:
      "How often stored events are appended to their tenants' audit logs, and each log that grew gets a signed checkpoint.",
  },
  {
    key: "disableAuditTrail",
    flag: "disable-audit-trail",
    env: "CHAUKAS_DISABLE_AUDIT_TRAIL",
    defaultValue: "false",
    parse: yesNo,
    description:
      "Store events without appending them to the audit log (for measuring its cost; they are still queued for the stats rollups). Events stored so are never in the log: `chaukas verify` lists them.",
  },
  {
    key: "disableUi",
    flag: "disable-ui",
    env: "CHAUKAS_DISABLE_UI",
    defaultValue: "false",
    parse: yesNo,
    description:
      "Do not serve the dashboard at `/` (see [docs/dashboard.md](docs/dashboard.md)); the APIs are served either way.",
  },
  {
    key: "uiTransport",
    flag: "ui-transport",
    env: "CHAUKAS_UI_TRANSPORT",
    defaultValue: "connect",
    parse: (raw, name) => {
      if (raw !== "connect" && raw !== "grpc-web")
        throw new ConfigError(`${name} must be connect or grpc-web, got "${raw}"`);
      return raw;
    },
    description:
      "The protocol the dashboard's page speaks to this server: `connect` (Connect JSON) or `grpc-web` (binary).",
  },
  {
    key: "tailHeartbeatMs",
    flag: "tail-heartbeat-ms",
    env: "CHAUKAS_TAIL_HEARTBEAT_MS",
    defaultValue: "15000",
    parse: positiveInt,
    description: "Live tail: a stream with no event to send sends a heartbeat this often, so proxies keep it open.",
  },
  {
    key: "tailMaxStreamMs",
    flag: "tail-max-stream-ms",
    env: "CHAUKAS_TAIL_MAX_STREAM_MS",
    defaultValue: "1800000",
    parse: positiveInt,
    description: "Live tail: a stream ends itself this long after it opened, with a cursor to resume from.",
  },
  {
    key: "tailBufferEvents",
    flag: "tail-buffer-events",
    env: "CHAUKAS_TAIL_BUFFER_EVENTS",
    defaultValue: "1000",
    parse: positiveInt,
    description:
      "Live tail: events a stream holds for a subscriber that reads more slowly than they arrive; past it the stream ends with a cursor to resume from.",
  },
  {
    key: "maxTailsPerKey",
    flag: "max-tails-per-key",
    env: "CHAUKAS_MAX_TAILS_PER_KEY",
    defaultValue: "10",
    parse: positiveInt,
    description:
      "Live tail: streams one API key may hold open at once, per server process. Past it: `resource_exhausted`.",
  },
  {
    key: "metrics",
    flag: "metrics",
    env: "CHAUKAS_METRICS",
    defaultValue: "on",
    parse: metricsSetting,
    description:
      "`GET /metrics` (Prometheus text format, no key needed): `on` serves it on the server's port, `off` nowhere, `HOST:PORT` (e.g. `127.0.0.1:9464`, `[::1]:9464`) on a plain-HTTP address of its own. See [docs/operations.md](docs/operations.md).",
  },
  {
    key: "metricsTenantLabel",
    flag: "metrics-tenant-label",
    env: "CHAUKAS_METRICS_TENANT_LABEL",
    defaultValue: "false",
    parse: yesNo,
    description:
      "Label the accepted and rejected event counters with the tenant: one series per tenant, so only where tenants are few.",
  },
];

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** `--help`: every setting's flag, environment variable, default and meaning, from SETTINGS. */
export function serverUsage(): string {
  const lines = ["Usage: npm start -- [FLAGS]   (or: npm run serve -- [FLAGS], which does not build first)", ""];
  lines.push("Every setting is a flag or an environment variable; a flag wins. Also: --help, --version.", "");
  for (const setting of SETTINGS) {
    const value = setting.parse === yesNo ? "" : " VALUE";
    const fallback = setting.defaultValue ? ` (default ${setting.defaultValue})` : "";
    lines.push(`  --${setting.flag}${value}   ${setting.env}${fallback}`, `      ${plainText(setting.description)}`);
  }
  return `${lines.join("\n")}\n`;
}

/** A description as the README's Markdown table shows it, for a terminal: links as their text, no backticks. */
const plainText = (markdown: string) => markdown.replace(/\[([^\]]+)\]\([^)]+\)/g, "$1").replaceAll("`", "");

/** Reads the configuration: a flag wins over its environment variable, which wins over the default. */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): Config {
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: Object.fromEntries(SETTINGS.map((s) => [s.flag, { type: s.parse === yesNo ? "boolean" : "string" }])),
      strict: true,
    }));
  } catch (err) {
    // parseArgs throws a TypeError (unknown flag, missing value, stray argument): report it as a
    // configuration error so main prints the message instead of a stack trace.
    throw new ConfigError(err instanceof Error ? err.message : String(err));
  }
  const config: Record<string, unknown> = {};
  for (const setting of SETTINGS) {
    const flagValue = values[setting.flag] === true ? "true" : values[setting.flag];
    const value = settingValue(setting, flagValue, env);
    if (value !== undefined) config[setting.key] = value;
  }
  const result = config as unknown as Config;
  if (Boolean(result.tlsCertFile) !== Boolean(result.tlsKeyFile)) {
    throw new ConfigError("--tls-cert and --tls-key must be given together");
  }
  if (result.migrateDatabaseUrl && !result.databaseUrl) {
    throw new ConfigError("--migrate-database-url needs --database-url: the embedded database has one role");
  }
  if (result.databaseReadUrl && !result.databaseUrl) {
    throw new ConfigError("--database-read-url needs --database-url: the embedded database has no replica");
  }
  // A body the budget cannot hold would be refused however often it is retried.
  if (result.maxInflightBodyMb * 1024 * 1024 < Math.max(result.maxBodyBytes, result.otlpMaxBodyBytes)) {
    throw new ConfigError(
      "--max-inflight-body-mb must hold at least one body of --max-body-bytes and one of --otlp-max-body-bytes",
    );
  }
  return result;
}

/**
 * One setting as the server would take it: from `flagValue`, else its environment variable, else
 * its default. The CLI resolves its database settings this way.
 */
export function resolveSetting<K extends keyof Config>(key: K, flagValue: unknown, env: NodeJS.ProcessEnv): Config[K] {
  const setting = SETTINGS.find((s) => s.key === key);
  if (!setting) throw new Error(`no setting ${key}`);
  return settingValue(setting, flagValue, env) as Config[K];
}

function settingValue(setting: Setting, flagValue: unknown, env: NodeJS.ProcessEnv): unknown {
  // An empty value counts as not given: `CHAUKAS_PORT=` must mean the default port, not no port.
  const raw = [flagValue, env[setting.env], setting.defaultValue].find((v) => typeof v === "string" && v !== "") as
    | string
    | undefined;
  return raw === undefined ? setting.unset : setting.parse(raw, `--${setting.flag}/${setting.env}`);
}

function yesNo(raw: string, name: string): boolean {
  if (["true", "1", "yes"].includes(raw)) return true;
  if (["false", "0", "no"].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

function nonNegativeInt(raw: string, name: string): number {
  const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw new ConfigError(`${name} must be a whole number, got "${raw}"`);
  return n;
}

/** A C2SP note key name: non-empty, no whitespace, no "+". */
function keyName(raw: string, name: string): string {
  if (!/^[^\s+]+$/u.test(raw)) throw new ConfigError(`${name} must have no spaces or "+", got "${raw}"`);
  return raw;
}

function pathPrefix(raw: string, name: string): string {
  if (!/^(\/[\w.~-]+)+$/.test(raw)) throw new ConfigError(`${name} must look like /api or /a/b, got "${raw}"`);
  return raw;
}

/** A PostgreSQL connection URL; the value is not repeated in the error, as it may hold a password. */
function postgresUrl(raw: string, name: string): string {
  let protocol: string | undefined;
  try {
    protocol = new URL(raw).protocol;
  } catch {}
  if (protocol !== "postgres:" && protocol !== "postgresql:") {
    throw new ConfigError(`${name} is malformed: expected postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`);
  }
  return raw;
}

function metricsSetting(raw: string, name: string): MetricsSetting {
  if (raw === "on" || raw === "off") return raw;
  const address = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d+)$/.exec(raw);
  if (!address) throw new ConfigError(`${name} must be on, off or HOST:PORT, got "${raw}"`);
  return { host: address[1] ?? address[2], port: portNumber(address[3], name) };
}

function portNumber(raw: string, name: string): number {
  const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ConfigError(`${name} must be a port number, got "${raw}"`);
  return n;
}
