import { describe, expect, it } from "vitest";
import { type Config, ConfigError, loadConfig, SETTINGS } from "../src/config.ts";

interface Sample {
  /** What the setting is when given nowhere. */
  byDefault: Config[keyof Config] | undefined;
  /** A value to give, and what it must read as. */
  raw: string;
  /** Another valid value, given as the variable where the flag must win. */
  other: string;
  value: Config[keyof Config];
  /** Values it must refuse, naming the setting. */
  refused: string[];
}

/**
 * Every setting, written out by hand. A Record over Config's keys: a setting added to Config without
 * a row here fails the type check, and one added to SETTINGS fails the test below.
 */
const SAMPLES: Record<keyof Config, Sample> = {
  host: { byDefault: "127.0.0.1", other: "::1", raw: "0.0.0.0", value: "0.0.0.0", refused: [] },
  port: { byDefault: 50051, other: "9090", raw: "8080", value: 8080, refused: ["65536", "-1", "0x50", "1e3", " 80"] },
  databaseUrl: {
    byDefault: undefined,
    other: "postgres://env/y",
    raw: "postgres://u@db/x",
    value: "postgres://u@db/x",
    refused: ["not-a-url", "db.example.com:5432/x", "mysql://u@db/x"],
  },
  dataDir: { byDefault: "./data", other: "/from/env", raw: "/var/lib/chaukas", value: "/var/lib/chaukas", refused: [] },
  embeddedCacheMb: { byDefault: 16, other: "32", raw: "128", value: 128, refused: ["0", "-16", "1.5", "lots"] },
  migrateDatabaseUrl: {
    byDefault: undefined,
    other: "postgres://owner@env/y",
    raw: "postgres://owner@db/x",
    value: "postgres://owner@db/x",
    refused: ["not-a-url"],
  },
  databaseReadUrl: {
    byDefault: undefined,
    other: "postgres://reader@env/y",
    raw: "postgres://reader@replica/x",
    value: "postgres://reader@replica/x",
    refused: ["not-a-url", "mysql://u@db/x"],
  },
  dbStatementTimeoutMs: { byDefault: 30_000, other: "100", raw: "0", value: 0, refused: ["-1", "5s"] },
  dbConnectTimeoutMs: { byDefault: 10_000, other: "100", raw: "2500", value: 2500, refused: ["0", "-1", "1s"] },
  pgPoolSize: { byDefault: 10, other: "3", raw: "20", value: 20, refused: ["0", "-5", "1.5", "ten"] },
  tlsCertFile: {
    byDefault: undefined,
    other: "/env/cert.pem",
    raw: "/tls/cert.pem",
    value: "/tls/cert.pem",
    refused: [],
  },
  tlsKeyFile: { byDefault: undefined, other: "/env/key.pem", raw: "/tls/key.pem", value: "/tls/key.pem", refused: [] },
  maxBodyBytes: { byDefault: 4 * 1024 * 1024, other: "1024", raw: "65536", value: 65536, refused: ["0", "1e6", "64k"] },
  corsOrigins: {
    byDefault: [],
    other: "https://env.example.com",
    raw: "https://a.example.com, https://b.example.com",
    value: ["https://a.example.com", "https://b.example.com"],
    refused: [],
  },
  logLevel: { byDefault: "info", other: "warn", raw: "debug", value: "debug", refused: ["verbose", "INFO"] },
  drainMs: { byDefault: 0, other: "100", raw: "15000", value: 15_000, refused: ["-1", "5s"] },
  shutdownTimeoutMs: { byDefault: 10_000, other: "99", raw: "2500", value: 2500, refused: ["0", "-1", "2.5s"] },
  sdkPathPrefix: {
    byDefault: "",
    other: "/env",
    raw: "/api/v2",
    value: "/api/v2",
    refused: ["api", "/", "/api/", "//api", "/a b"],
  },
  otlpMaxBodyBytes: {
    byDefault: 20 * 1024 * 1024,
    other: "1024",
    raw: "65536",
    value: 65536,
    refused: ["0", "1e6", "20m"],
  },
  otlpPathPrefix: { byDefault: "", other: "/env", raw: "/otlp", value: "/otlp", refused: ["otlp", "/", "/otlp/"] },
  maxInflightEvents: { byDefault: 50_000, other: "7", raw: "100", value: 100, refused: ["0", "many"] },
  maxIngestHeapMb: { byDefault: undefined, other: "64", raw: "512", value: 512, refused: ["0", "512MB"] },
  maxInflightBodyMb: { byDefault: 48, other: "96", raw: "128", value: 128, refused: ["0", "lots"] },
  failedAuthLimit: { byDefault: 10, other: "5", raw: "0", value: 0, refused: ["-1", "1.5"] },
  rateLimit: { byDefault: 1000, other: "5", raw: "0", value: 0, refused: ["-1", "1.5", "fast"] },
  insecureNoAuth: { byDefault: false, other: "no", raw: "yes", value: true, refused: ["maybe", "on"] },
  auditKeyFile: {
    byDefault: undefined,
    other: "/env/audit.pem",
    raw: "/keys/audit.pem",
    value: "/keys/audit.pem",
    refused: [],
  },
  auditLogName: {
    byDefault: "chaukas",
    other: "env.example.com",
    raw: "audit.example.com",
    value: "audit.example.com",
    refused: ["a b", "a+b"],
  },
  checkpointIntervalMs: { byDefault: 1000, other: "5000", raw: "250", value: 250, refused: ["0", "1s"] },
  disableAuditTrail: { byDefault: false, other: "false", raw: "1", value: true, refused: ["2", "off"] },
  disableUi: { byDefault: false, other: "false", raw: "true", value: true, refused: ["2", "off"] },
  uiTransport: {
    byDefault: "connect",
    other: "connect",
    raw: "grpc-web",
    value: "grpc-web",
    refused: ["grpc", "json", "GRPC-WEB"],
  },
  tailHeartbeatMs: { byDefault: 15_000, other: "500", raw: "30000", value: 30_000, refused: ["0", "15s"] },
  tailMaxStreamMs: { byDefault: 1_800_000, other: "1000", raw: "60000", value: 60_000, refused: ["0", "1h"] },
  tailBufferEvents: { byDefault: 1000, other: "10", raw: "5000", value: 5000, refused: ["0", "-1"] },
  maxTailsPerKey: { byDefault: 10, other: "2", raw: "50", value: 50, refused: ["0", "many"] },
  metrics: {
    byDefault: "on",
    other: "off",
    raw: "[::1]:9464",
    value: { host: "::1", port: 9464 },
    refused: ["9464", "yes", "host:", ":9464", "host:99999", "[::1]"],
  },
  metricsTenantLabel: { byDefault: false, other: "false", raw: "true", value: true, refused: ["tenant"] },
};

/**
 * Settings that only come with another: the certificate and the key together, and the migrations'
 * and the replica's database URLs with the serving one.
 */
const PARTNERS: Partial<Record<keyof Config, keyof Config>> = {
  tlsCertFile: "tlsKeyFile",
  tlsKeyFile: "tlsCertFile",
  migrateDatabaseUrl: "databaseUrl",
  databaseReadUrl: "databaseUrl",
};

/** `given`, plus the setting's partner where it needs one. */
function withPartner(key: keyof Config, given: Record<string, string>, as: "flag" | "env"): Record<string, string> {
  const partner = PARTNERS[key];
  if (!partner) return given;
  const setting = SETTINGS.find((s) => s.key === partner);
  if (!setting) throw new Error(`no setting ${partner}`);
  return { ...given, [as === "flag" ? `--${setting.flag}` : setting.env]: SAMPLES[partner].raw };
}

const isYesNo = (sample: Sample) => typeof sample.value === "boolean";

describe("every setting of SETTINGS", () => {
  it("has a hand-written sample, and SETTINGS has each setting once", () => {
    expect(SETTINGS.map((s) => s.key).sort()).toEqual(Object.keys(SAMPLES).sort());
    for (const field of ["flag", "env"] as const) {
      expect(new Set(SETTINGS.map((s) => s[field])).size, field).toBe(SETTINGS.length);
    }
  });

  describe.each(SETTINGS.map((s) => [s.flag, s] as const))("--%s", (_flag, setting) => {
    const sample = SAMPLES[setting.key];
    const name = `--${setting.flag}/${setting.env}`;

    it("has its default when given nowhere, or when its variable is empty", () => {
      expect(loadConfig([], {})[setting.key]).toEqual(sample.byDefault);
      expect(loadConfig([], { [setting.env]: "" })[setting.key]).toEqual(sample.byDefault);
    });

    it("is read from its environment variable", () => {
      const env = withPartner(setting.key, { [setting.env]: sample.raw }, "env");
      expect(loadConfig([], env)[setting.key]).toEqual(sample.value);
    });

    it("is read from its flag, which wins over the variable", () => {
      // A yes/no flag takes no value: given, it is true.
      const argv = isYesNo(sample) ? [`--${setting.flag}`] : [`--${setting.flag}=${sample.raw}`];
      const partner = Object.entries(withPartner(setting.key, {}, "flag")).map(([flag, raw]) => `${flag}=${raw}`);
      expect(loadConfig([...argv, ...partner], {})[setting.key]).toEqual(sample.value);
      expect(loadConfig([...argv, ...partner], { [setting.env]: sample.other })[setting.key]).toEqual(sample.value);
    });

    // Free text (a host, a path, a URL) has nothing to refuse.
    if (sample.refused.length > 0)
      it("refuses what it cannot read, naming the setting", () => {
        for (const raw of sample.refused) {
          const loads = [() => loadConfig([], { [setting.env]: raw })];
          // A yes/no flag takes no value at all.
          if (!isYesNo(sample)) loads.push(() => loadConfig([`--${setting.flag}=${raw}`], {}));
          for (const load of loads) {
            expect(load, raw).toThrow(ConfigError);
            expect(load, raw).toThrow(name);
          }
        }
      });
  });
});

describe("yes/no settings from the environment", () => {
  const yesNo = SETTINGS.filter((s) => isYesNo(SAMPLES[s.key]));

  it.each([
    ["true", true],
    ["1", true],
    ["yes", true],
    ["false", false],
    ["0", false],
    ["no", false],
  ])("read %j as %s", (raw, value) => {
    expect(yesNo.length).toBeGreaterThan(0);
    for (const setting of yesNo) expect(loadConfig([], { [setting.env]: raw })[setting.key], setting.env).toBe(value);
  });
});
