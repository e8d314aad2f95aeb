import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config.ts";

describe("the database timeouts' settings", () => {
  it("default to 30 s per statement and 10 s to get a connection", () => {
    expect(loadConfig([], {})).toMatchObject({ dbStatementTimeoutMs: 30_000, dbConnectTimeoutMs: 10_000 });
  });

  it("are read from flags, which win over the environment", () => {
    const env = { CHAUKAS_DB_STATEMENT_TIMEOUT_MS: "5000", CHAUKAS_DB_CONNECT_TIMEOUT_MS: "2000" };
    expect(loadConfig([], env)).toMatchObject({ dbStatementTimeoutMs: 5_000, dbConnectTimeoutMs: 2_000 });
    const argv = ["--db-statement-timeout-ms", "7000", "--db-connect-timeout-ms", "3000"];
    expect(loadConfig(argv, env)).toMatchObject({ dbStatementTimeoutMs: 7_000, dbConnectTimeoutMs: 3_000 });
  });

  it("take 0 as no statement bound, but always bound the wait for a connection", () => {
    expect(loadConfig(["--db-statement-timeout-ms", "0"], {}).dbStatementTimeoutMs).toBe(0);
    expect(() => loadConfig(["--db-connect-timeout-ms", "0"], {})).toThrow(ConfigError);
    expect(() => loadConfig([], { CHAUKAS_DB_STATEMENT_TIMEOUT_MS: "30s" })).toThrow(ConfigError);
  });
});
