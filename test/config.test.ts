import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config.ts";

/** loadConfig must throw a ConfigError whose message contains every given fragment. */
function expectConfigError(argv: string[], env: NodeJS.ProcessEnv, ...fragments: string[]) {
  let thrown: unknown;
  try {
    loadConfig(argv, env);
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(ConfigError);
  for (const fragment of fragments) expect((thrown as Error).message).toContain(fragment);
}

describe("loadConfig", () => {
  it("has defaults for everything but the database URL and TLS", () => {
    const config = loadConfig([], {});
    expect(config).toMatchObject({
      host: "127.0.0.1",
      port: 50051,
      dataDir: "./data",
      pgPoolSize: 10,
      maxBodyBytes: 4 * 1024 * 1024,
      corsOrigins: [],
      logLevel: "info",
      shutdownTimeoutMs: 10_000,
    });
    expect(config.databaseUrl).toBeUndefined();
    expect(config.tlsCertFile).toBeUndefined();
    expect(config.tlsKeyFile).toBeUndefined();
  });

  it("reads every setting from the environment", () => {
    const config = loadConfig([], {
      CHAUKAS_HOST: "0.0.0.0",
      CHAUKAS_PORT: "8080",
      DATABASE_URL: "postgres://u@db/chaukas",
      CHAUKAS_DATA_DIR: "/var/lib/chaukas",
      CHAUKAS_PG_POOL_SIZE: "20",
      CHAUKAS_TLS_CERT: "/tls/cert.pem",
      CHAUKAS_TLS_KEY: "/tls/key.pem",
      CHAUKAS_MAX_BODY_BYTES: "65536",
      CHAUKAS_CORS_ORIGINS: "https://a.example.com",
      CHAUKAS_LOG_LEVEL: "debug",
      CHAUKAS_SHUTDOWN_TIMEOUT_MS: "2500",
    });
    expect(config).toMatchObject({
      host: "0.0.0.0",
      port: 8080,
      databaseUrl: "postgres://u@db/chaukas",
      dataDir: "/var/lib/chaukas",
      pgPoolSize: 20,
      tlsCertFile: "/tls/cert.pem",
      tlsKeyFile: "/tls/key.pem",
      maxBodyBytes: 65536,
      corsOrigins: ["https://a.example.com"],
      logLevel: "debug",
      shutdownTimeoutMs: 2500,
    });
  });

  it("lets a flag override its environment variable, in both flag spellings", () => {
    const env = { CHAUKAS_PORT: "8080", CHAUKAS_HOST: "0.0.0.0", DATABASE_URL: "postgres://env/db" };
    const config = loadConfig(["--port", "9090", "--host=::1", "--database-url", "postgres://flag/db"], env);
    expect(config.port).toBe(9090);
    expect(config.host).toBe("::1");
    expect(config.databaseUrl).toBe("postgres://flag/db");
  });

  it("treats an empty environment variable as unset", () => {
    const config = loadConfig([], { CHAUKAS_PORT: "", CHAUKAS_MAX_BODY_BYTES: "", CHAUKAS_HOST: "", DATABASE_URL: "" });
    expect(config.port).toBe(50051);
    expect(config.maxBodyBytes).toBe(4 * 1024 * 1024);
    expect(config.host).toBe("127.0.0.1");
    expect(config.databaseUrl).toBeUndefined();
  });

  it("accepts port 0 (any free port) and 65535", () => {
    expect(loadConfig(["--port", "0"], {}).port).toBe(0);
    expect(loadConfig([], { CHAUKAS_PORT: "65535" }).port).toBe(65535);
  });

  it.each(["65536", "-1", "abc", "80.5", "0x50", "1e3", " 80"])("refuses port %j", (port) => {
    expectConfigError([`--port=${port}`], {}, "--port/CHAUKAS_PORT", "port number", `"${port}"`);
    expectConfigError([], { CHAUKAS_PORT: port }, "--port/CHAUKAS_PORT", `"${port}"`);
  });

  it.each([
    ["pg-pool-size", "CHAUKAS_PG_POOL_SIZE"],
    ["max-body-bytes", "CHAUKAS_MAX_BODY_BYTES"],
    ["shutdown-timeout-ms", "CHAUKAS_SHUTDOWN_TIMEOUT_MS"],
  ])("refuses a %s that is not a positive integer", (flag, env) => {
    for (const bad of ["0", "-5", "1.5", "ten", "1e6", "99999999999999999999"]) {
      expectConfigError([`--${flag}=${bad}`], {}, `--${flag}/${env}`, "must be a positive integer", `"${bad}"`);
    }
    expectConfigError([], { [env]: "0" }, `--${flag}/${env}`, "must be a positive integer");
  });

  it("refuses a TLS certificate without its key, and a key without its certificate", () => {
    expectConfigError(["--tls-cert", "/tls/cert.pem"], {}, "--tls-cert and --tls-key must be given together");
    expectConfigError([], { CHAUKAS_TLS_KEY: "/tls/key.pem" }, "--tls-cert and --tls-key must be given together");
    const config = loadConfig(["--tls-cert", "/c.pem", "--tls-key", "/k.pem"], {});
    expect(config).toMatchObject({ tlsCertFile: "/c.pem", tlsKeyFile: "/k.pem" });
  });

  it("splits CORS origins on commas, trimming blanks and dropping empty entries", () => {
    const config = loadConfig(["--cors-origins", " https://a.example.com, ,https://b.example.com:8443 ,"], {});
    expect(config.corsOrigins).toEqual(["https://a.example.com", "https://b.example.com:8443"]);
    expect(loadConfig([], { CHAUKAS_CORS_ORIGINS: "http://localhost:3000" }).corsOrigins).toEqual([
      "http://localhost:3000",
    ]);
    expect(loadConfig([], { CHAUKAS_CORS_ORIGINS: " , " }).corsOrigins).toEqual([]);
  });

  it("refuses an unknown log level", () => {
    expectConfigError(["--log-level", "verbose"], {}, "--log-level/CHAUKAS_LOG_LEVEL", '"verbose"', "info");
    expect(loadConfig(["--log-level", "silent"], {}).logLevel).toBe("silent");
  });

  it("refuses an unknown flag, a flag without its value and a stray argument", () => {
    expectConfigError(["--prot", "8080"], {}, "--prot");
    expectConfigError(["--port"], {}, "--port");
    expectConfigError(["serve"], {}, "serve");
  });
});
