import { randomBytes } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { EventType } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import { QueryFilterSchema } from "../../gen/chaukas/spec/common/v1/query_pb.ts";
import { PageTokenCodec } from "../../src/core/page-token.ts";
import { InvalidArgumentError } from "../../src/lib/errors.ts";

const codec = new PageTokenCodec(randomBytes(32));
const filterInit = { tenantId: "acme", sessionId: "s-1", types: [EventType.AGENT_START] };
const filter = create(QueryFilterSchema, filterInit);
const cursor = { timestampNs: 1_764_072_000_123_456_789n, eventId: "evt-42" };
const token = codec.encode(filter, true, cursor);

/** Decoding must fail with InvalidArgumentError naming query.page_token. */
function expectRefused(decode: () => unknown, description: string) {
  let thrown: unknown;
  try {
    decode();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(InvalidArgumentError);
  expect((thrown as InvalidArgumentError).violations).toEqual([{ field: "query.page_token", description }]);
}
const refusedAsForeign = (t: string) =>
  expectRefused(() => codec.decode(t, filter, true), "is not a token this server issued");

/** `text` with the character at `index` replaced by another base64url character. */
function changeCharAt(text: string, index: number): string {
  const replacement = text[index] === "A" ? "B" : "A";
  return text.slice(0, index) + replacement + text.slice(index + 1);
}

describe("PageTokenCodec", () => {
  it("decodes its own token back to the cursor, for an equal filter and the same order", () => {
    expect(codec.decode(token, create(QueryFilterSchema, filterInit), true)).toEqual(cursor);
  });

  it("round-trips extreme cursors", () => {
    for (const c of [
      { timestampNs: -(2n ** 63n), eventId: "" },
      { timestampNs: 2n ** 63n - 1n, eventId: 'évènement/🚀."quoted"' },
    ]) {
      expect(codec.decode(codec.encode(filter, false, c), filter, false)).toEqual(c);
    }
  });

  it("is a URL-safe string", () => {
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
  });

  it("refuses a token whose body was changed", () => {
    const [body = "", mac = ""] = token.split(".");
    // Any position but the last, whose low bits may be padding that decoding ignores.
    for (const i of [0, Math.floor(body.length / 2), body.length - 2]) {
      refusedAsForeign(`${changeCharAt(body, i)}.${mac}`);
    }
  });

  it("refuses a token whose body was swapped for one with a later cursor", () => {
    const [, mac] = token.split(".");
    const [otherBody] = codec.encode(filter, true, { ...cursor, eventId: "evt-43" }).split(".");
    refusedAsForeign(`${otherBody}.${mac}`);
  });

  it("refuses a token whose MAC was changed", () => {
    const [body = "", mac = ""] = token.split(".");
    for (const i of [0, Math.floor(mac.length / 2), mac.length - 2]) {
      refusedAsForeign(`${body}.${changeCharAt(mac, i)}`);
    }
  });

  it("refuses a truncated token", () => {
    for (const length of [0, 1, token.indexOf("."), token.indexOf(".") + 1, token.length - 3, token.length - 1]) {
      refusedAsForeign(token.slice(0, length));
    }
  });

  it("refuses a token issued with another key", () => {
    const other = new PageTokenCodec(randomBytes(32)).encode(filter, true, cursor);
    refusedAsForeign(other);
  });

  it.each([
    "garbage",
    ".",
    "..",
    "a.b.c",
    `${token}.`,
    `${token}.${token}`,
    "!!!!.????",
    "eyJxIjoieCJ9.AAAAAAAAAAAAAAAAAAAAAA",
    " ",
    "\u0000",
    "🚀.🚀",
  ])("refuses the string %j", (garbage) => {
    refusedAsForeign(garbage);
  });

  it("refuses a token issued for a different filter", () => {
    const others = [
      create(QueryFilterSchema, { ...filterInit, tenantId: "other" }),
      create(QueryFilterSchema, { ...filterInit, types: [] }),
      create(QueryFilterSchema, { ...filterInit, textQuery: "weather" }),
      create(QueryFilterSchema, { ...filterInit, time: { start: { seconds: 1n } } }),
    ];
    for (const other of others) {
      expectRefused(() => codec.decode(token, other, true), "was issued for a different filter or order");
    }
  });

  it("refuses a token issued for the other order", () => {
    expectRefused(() => codec.decode(token, filter, false), "was issued for a different filter or order");
  });
});
