import { describe, expect, it } from "vitest";
import { DETECTORS, ibanValid, luhnValid, replaceDetected } from "../../../src/core/redaction/detectors.ts";

const named = (text: string) => replaceDetected(text, DETECTORS, (_, d) => `<${d.name}>`);

describe("detectors", () => {
  it.each([
    ["key sk-proj-abcdefghijklmnopqrstuvwxyz012345 here", "key <api_key> here"],
    ["ghp_abcdefghijklmnopqrstuvwxyz0123456789", "<api_key>"],
    ["xoxb-1234567890-abcdefghij", "<api_key>"],
    ["AIzaSyA1234567890abcdefghijklmnopqrstuv", "<api_key>"],
    ["id AKIAIOSFODNN7EXAMPLE.", "id <aws_access_key>."],
    [
      "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
      "Bearer <jwt>",
    ],
    ["-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY----- after", "<private_key> after"],
    ["cut -----BEGIN PRIVATE KEY-----\nMIIEow", "cut <private_key>"],
    ["card 4111 1111 1111 1111 ok", "card <card_number> ok"],
    ["card 4111-1111-1111-1111", "card <card_number>"],
    ["IBAN DE89 3704 0044 0532 0130 00", "IBAN <iban>"],
    ["GB82WEST12345698765432", "<iban>"],
    ["mail jane.doe+x@example.co.uk now", "mail <email> now"],
    ["call +44 20 7946 0958", "call <phone>"],
    ["call (555) 123-4567 or 555.123.4567", "call <phone> or <phone>"],
  ])("finds the secret in %j", (text, expected) => {
    expect(named(text)).toBe(expected);
  });

  it.each([
    "task-manager-processing-worker-queue", // sk- inside a word
    "order 1234 5678 9012 3456", // 16 digits failing Luhn
    "DE89370400440532013001", // an IBAN with a wrong check
    "on 2026-12-02T15:09:24Z, 42 ms, version 1.2.3",
    "user@localhost",
    "eyJhbGciOiJIUzI1NiJ9 alone",
    "AKIA-not-a-key",
  ])("leaves %j alone", (text) => {
    expect(named(text)).toBe(text);
  });

  it("checks the Luhn sum and the IBAN's mod 97", () => {
    expect(luhnValid("4111111111111111")).toBe(true);
    expect(luhnValid("4111111111111112")).toBe(false);
    expect(luhnValid("79927398713")).toBe(false); // valid sum, but too short for a card
    expect(ibanValid("GB82WEST12345698765432")).toBe(true);
    expect(ibanValid("GB82WEST12345698765433")).toBe(false);
  });

  it("has a trigger that every match contains, read as Latin-1 bytes next to protobuf framing", () => {
    for (const text of ["sk-proj-abcdefghijklmnopqrstuvwxyz012345", "jane@example.com", "4111 1111 1111 1111"]) {
      const framed = `\n${String.fromCharCode(text.length)}${text}`;
      const latin1 = Buffer.from(framed, "utf8").toString("latin1");
      expect(DETECTORS.some((d) => d.trigger.test(latin1) && named(text) !== text)).toBe(true);
    }
  });
});
