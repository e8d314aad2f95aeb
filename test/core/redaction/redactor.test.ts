import { fromBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { EventSchema } from "../../../gen/chaukas/spec/common/v1/events_pb.ts";
import { toEventRecord } from "../../../src/core/event-record.ts";
import { redactedRecord } from "../../../src/core/redaction/redacted-record.ts";
import { compileRedaction, rulePathProblem } from "../../../src/core/redaction/redactor.ts";
import { checkedRules, effectiveRules, type RedactionRules } from "../../../src/core/redaction/rules.ts";
import { fullEvent, makeEvent } from "../../support/events.ts";

const KEY = { saltId: "hmac-sha256:test", secret: new Uint8Array(32).fill(7) };
const API_KEY = "sk-proj-abcdefghijklmnopqrstuvwxyz0123";

function redact(event: ReturnType<typeof makeEvent>, rules: Partial<RedactionRules> = {}, project = "web") {
  const redaction = compileRedaction(effectiveRules(checkedRules(rules), project), KEY);
  const before = toEventRecord(event);
  const after = redactedRecord(redaction, before);
  return { before, after, event: fromBinary(EventSchema, after.payload) };
}

describe("the redactor", () => {
  it("leaves an event with nothing to redact as it is: the same record", () => {
    const { before, after } = redact(fullEvent({ case: "message", value: { role: "user", text: "hello" } }));
    expect(after).toBe(before);
  });

  it("masks credentials by default, and its record (hash, search text) is the redacted event's", () => {
    const { before, after, event } = redact(
      makeEvent({ content: { case: "message", value: { text: `key ${API_KEY}` } } }),
    );
    expect(event.content.value).toMatchObject({ text: "key [REDACTED:api_key]" });
    expect(event.redaction).toMatchObject({ fields: ["message.text"], method: "mask", saltId: "" });
    expect(Buffer.from(after.contentHash)).not.toEqual(Buffer.from(before.contentHash));
    expect(after.searchText).not.toContain(API_KEY);
  });

  it("hashes with the tenant's key: equal values give equal hashes", () => {
    const metadata = { a: "ana@example.com", b: "ana@example.com", c: "bob@example.com" };
    const { event } = redact(makeEvent({ metadata }), { detectors: { email: "hash" } });
    const m = event.metadata as Record<string, string>;
    expect(m.a).toMatch(/^\[email:[0-9a-f]{32}\]$/);
    expect(m.a).toBe(m.b);
    expect(m.c).not.toBe(m.a);
    expect(event.redaction).toMatchObject({ method: "hash", saltId: KEY.saltId });
  });

  it("drops a string a dropping detector matches, from lists and objects", () => {
    const { event } = redact(
      makeEvent({ tags: ["keep", "mail ana@example.com"], metadata: { m: "ana@example.com" } }),
      {
        detectors: { email: "drop" },
      },
    );
    expect(event.tags).toEqual(["keep"]);
    expect(event.metadata).toEqual({});
    expect(event.redaction?.fields).toEqual(["tags[1]", "metadata.m"]);
  });

  it("applies field rules at their path, `content` standing for the event's content, and per project", () => {
    const event = makeEvent({
      content: { case: "toolCall", value: { name: "login", arguments: { user: "ana", password: "hunter2", n: 3 } } },
      metadata: { customer: { ssn: "078-05-1120", name: "Ana" }, ["__proto__"]: "x" },
    });
    const rules = {
      fields: [
        { path: "content.arguments.password", method: "hash" },
        { path: "metadata.customer.ssn", method: "drop" },
      ],
      projects: { web: { detectors: {}, fields: [{ path: "tool_call.arguments.n", method: "mask" }] } },
    };
    const { event: redacted } = redact(event, rules);
    expect(redacted.content.value).toMatchObject({ arguments: { user: "ana", n: "[REDACTED]" } });
    expect((redacted.content.value as { arguments: Record<string, string> }).arguments.password).toMatch(/^\[hmac:/);
    expect(redacted.metadata).toMatchObject({ customer: { name: "Ana" } });
    expect(redacted.redaction?.method).toBe("mask,hash,drop");
    const other = redact(event, rules, "api").event;
    expect(other.content.value).toMatchObject({ arguments: { n: 3 } });
  });

  it("turns detectors off, and drops an extension that may hold a match", () => {
    const event = makeEvent({ metadata: { k: API_KEY } });
    expect(redact(event, { detectors: { api_key: "off" } }).event.metadata).toEqual({ k: API_KEY });
    const withExtension = fullEvent({ case: "message", value: { text: "hi" } });
    withExtension.extensions[0].value = Buffer.from(`x ${API_KEY}`);
    const { event: redacted } = redact(withExtension);
    expect(redacted.extensions).toEqual([]);
    expect(redacted.redaction?.fields).toContain("extensions[0]");
  });

  it("finds the field paths that would redact nothing: no such field, no text, or a list index", () => {
    expect(rulePathProblem("metdata.customer.ssn")).toBe('has no field "metdata" with text');
    expect(rulePathProblem("message.txet")).toBe('has no field "txet" with text in message');
    expect(rulePathProblem("event_id")).toBe('has no field "event_id" with text');
    expect(rulePathProblem("tags[0]")).toBe("takes no list indexes: a rule covers every item of a list");
    expect(rulePathProblem("a..b")).toBe("is not a path");
    for (const path of [
      "metadata.customer.ssn",
      "content.arguments.password",
      "llm_invocation.request.messages.content",
      "tags",
      "content",
    ]) {
      expect(rulePathProblem(path), path).toBeUndefined();
    }
  });

  it("refuses rules it does not know, naming each", () => {
    expect(() =>
      checkedRules({ detectors: { mail: "mask", email: "scramble" }, fields: [{ path: "", method: "hash" }] }),
    ).toThrow(/detectors\.mail.*detectors\.email.*fields\[0\]\.path/);
  });
});
