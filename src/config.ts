import { parseArgs } from "node:util";

export interface Config {
  host: string;
  port: number;
  /** PostgreSQL connection string; unset means the embedded database in `dataDir`. */
  databaseUrl?: string;
  dataDir: string;
  pgPoolSize: number;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  maxBodyBytes: number;
  corsOrigins: string[];
  logLevel: string;
  shutdownTimeoutMs: number;
}

interface Setting {
  key: keyof Config;
  flag: string;
  env: string;
  defaultValue?: string;
  parse: (raw: string, name: string) => Config[keyof Config];
  description: string;
}

const text = (raw: string) => raw;
const list = (raw: string) =>
  raw
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
const positiveInt = (raw: string, name: string) => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new ConfigError(`${name} must be a positive integer, got "${raw}"`);
  return n;
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
    parse: text,
    description: "PostgreSQL connection string. Unset: the embedded database (PGlite) in the data directory.",
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
    key: "pgPoolSize",
    flag: "pg-pool-size",
    env: "CHAUKAS_PG_POOL_SIZE",
    defaultValue: "10",
    parse: positiveInt,
    description: "Most PostgreSQL connections this process opens.",
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
    description:
      "Comma-separated browser origins allowed to call (CORS), e.g. `https://dash.example.com`. Empty: none.",
  },
  {
    key: "logLevel",
    flag: "log-level",
    env: "CHAUKAS_LOG_LEVEL",
    defaultValue: "info",
    parse: text,
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
];

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** Reads the configuration: a flag wins over its environment variable, which wins over the default. */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): Config {
  const { values } = parseArgs({
    args: argv,
    options: Object.fromEntries(SETTINGS.map((s) => [s.flag, { type: "string" as const }])),
    strict: true,
  });
  const config: Record<string, unknown> = {};
  for (const setting of SETTINGS) {
    const flagValue = values[setting.flag];
    const raw = typeof flagValue === "string" ? flagValue : (env[setting.env] ?? setting.defaultValue);
    if (raw !== undefined && raw !== "") config[setting.key] = setting.parse(raw, `--${setting.flag}/${setting.env}`);
    else if (setting.parse === list) config[setting.key] = [];
  }
  const result = config as unknown as Config;
  if (Boolean(result.tlsCertFile) !== Boolean(result.tlsKeyFile)) {
    throw new ConfigError("--tls-cert and --tls-key must be given together");
  }
  return result;
}

function portNumber(raw: string, name: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ConfigError(`${name} must be a port number, got "${raw}"`);
  return n;
}
