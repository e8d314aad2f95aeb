import { describe, expect, it } from "vitest";
import { isLoopback } from "../src/lib/loopback.ts";

// Where --insecure-no-auth may serve (src/main.ts refuses every other address).
describe("isLoopback", () => {
  it.each(["localhost", "::1", "127.0.0.1", "127.0.0.2", "127.255.255.254"])(
    "takes %j as this machine only",
    (host) => {
      expect(isLoopback(host)).toBe(true);
    },
  );

  it.each([
    "0.0.0.0",
    "::",
    "10.0.0.1",
    "192.168.1.10",
    "128.0.0.1",
    "127.example.com",
    "127.0.0.1.nip.io",
    "1270.0.0.1",
    "::ffff:8.8.8.8",
    "localhost.example.com",
    "",
  ])("takes %j as reachable from elsewhere", (host) => {
    expect(isLoopback(host)).toBe(false);
  });
});
