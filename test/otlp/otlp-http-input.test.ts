import { randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";
import { fromBinary, toJsonString } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ExportTraceServiceRequestSchema,
  ExportTraceServiceResponseSchema,
} from "../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.ts";
import type { Span_SpanKind, Status_StatusCode } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.ts";
import { MAX_ATTRIBUTE_CHARS } from "../../src/core/otlp/attributes.ts";
import { storeKinds } from "../support/databases.ts";
import { chatSpan, post, readRpcStatus, stringAttribute, traceRequest, traceRequestBytes } from "./otlp-requests.ts";
import { type OtlpTestServer, PROJECT, startOtlpServer } from "./otlp-server.ts";

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

describe.each(await storeKinds())("OTLP/HTTP input checks on the %s store", (kind) => {
  let server: OtlpTestServer;
  let url: string;
  let protobuf: Record<string, string>;
  let json: Record<string, string>;
  beforeAll(async () => {
    server = await startOtlpServer(kind, {
      otlp: { maxBodyBytes: 4 * 1024 * 1024, pathPrefix: "" },
    });
    url = `${server.baseUrl}/v1/traces`;
    protobuf = { "content-type": "application/x-protobuf", authorization: `Bearer ${server.ingestKey}` };
    json = { "content-type": "application/json", "x-api-key": server.ingestKey };
  });
  afterAll(() => server.close());

  const storedOf = async (traceId: Uint8Array) => server.query({ traceId: hex(traceId) });

  it("refuses only the spans with bad ids or an unknown status code, naming the first reasons", async () => {
    const good = chatSpan();
    const shortTrace = chatSpan({ traceId: randomBytes(8) });
    const zeroSpan = chatSpan({ spanId: new Uint8Array(8) });
    const badStatus = chatSpan({ status: { code: 7 as Status_StatusCode } });
    const unknownKind = chatSpan({ kind: 42 as Span_SpanKind });
    const answer = await post(url, traceRequestBytes([good, shortTrace, zeroSpan, badStatus, unknownKind]), protobuf);
    expect(answer.status).toBe(200);
    const response = fromBinary(ExportTraceServiceResponseSchema, answer.bytes);
    expect(response.partialSuccess?.rejectedSpans).toBe(3n);
    const message = response.partialSuccess?.errorMessage ?? "";
    expect(message).toContain("spans[1]");
    expect(message).toContain("trace_id must be 16 bytes, got 8");
    expect(message).toContain("span_id must not be all zeros");
    expect(message).toContain("status.code 7 is not a opentelemetry.proto.trace.v1.Status.StatusCode");
    expect(await storedOf(good.traceId as Uint8Array)).toHaveLength(2);
    expect(await storedOf(shortTrace.traceId as Uint8Array)).toHaveLength(0);
    expect(await storedOf(badStatus.traceId as Uint8Array)).toHaveLength(0);
    // An unknown span kind is only a label: kept as its number.
    const kept = await storedOf(unknownKind.traceId as Uint8Array);
    expect(kept).toHaveLength(2);
    expect(kept[0].metadata?.otel).toMatchObject({ span_kind: 42 });
  });

  it("refuses OTLP JSON whose ids are base64 rather than hex, storing nothing of it", async () => {
    const good = chatSpan();
    const body = JSON.parse(toJsonString(ExportTraceServiceRequestSchema, traceRequest([good, chatSpan()])));
    // toJson writes bytes as base64, as a plain proto3 JSON writer would: the first id is left so.
    body.resourceSpans[0].scopeSpans[0].spans[0].traceId = hex(good.traceId as Uint8Array);
    body.resourceSpans[0].scopeSpans[0].spans[0].spanId = hex(good.spanId as Uint8Array);
    const answer = await post(url, JSON.stringify(body), json);
    expect(answer.status).toBe(400);
    expect(answer.headers.get("content-type")).toMatch(/^application\/json/);
    expect(answer.json()).toEqual({
      code: 3,
      message: expect.stringMatching(
        /^resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[1\]\.traceId: ".*" is not hex \(OTLP JSON ids are hex, not base64\)$/,
      ),
    });
    expect(await storedOf(good.traceId as Uint8Array)).toHaveLength(0);
  });

  it("reads OTLP JSON: hex ids, integer enums, unknown fields ignored, gzip", async () => {
    const span = chatSpan();
    const body = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: "service.name", value: { stringValue: "json-svc" } }] },
          futureField: { anything: true },
          scopeSpans: [
            {
              spans: [
                {
                  traceId: hex(span.traceId as Uint8Array),
                  spanId: hex(span.spanId as Uint8Array),
                  name: "tool",
                  kind: 1,
                  startTimeUnixNano: String(span.startTimeUnixNano),
                  endTimeUnixNano: String(span.endTimeUnixNano),
                  status: { code: 2, message: "tool broke" },
                  attributes: [{ key: "gen_ai.tool.name", value: { stringValue: "lookup" } }],
                  notInTheProto: 1,
                },
              ],
            },
          ],
        },
      ],
    };
    const answer = await post(url, gzipSync(JSON.stringify(body)), { ...json, "content-encoding": "gzip" });
    expect(answer.status, answer.bytes.toString()).toBe(200);
    expect(answer.json()).toEqual({});
    const stored = await storedOf(span.traceId as Uint8Array);
    expect(stored.map((e) => [e.spanId, e.content.case, e.status])).toEqual([
      [hex(span.spanId as Uint8Array), "toolCall", 1],
      [hex(span.spanId as Uint8Array), "toolResponse", 4],
    ]);
    expect(stored[1].content.value).toMatchObject({ errorMessage: "tool broke" });
  });

  it("refuses a span with a huge attribute, and stores its neighbours", async () => {
    const huge = chatSpan({ attributes: [stringAttribute("input.value", "x".repeat(MAX_ATTRIBUTE_CHARS + 1))] });
    const good = chatSpan();
    const answer = await post(url, traceRequestBytes([huge, good]), protobuf);
    const response = fromBinary(ExportTraceServiceResponseSchema, answer.bytes);
    expect(response.partialSuccess?.rejectedSpans).toBe(1n);
    expect(response.partialSuccess?.errorMessage).toContain(`attribute "input.value" holds more than`);
    expect(await storedOf(huge.traceId as Uint8Array)).toHaveLength(0);
    expect(await storedOf(good.traceId as Uint8Array)).toHaveLength(2);
  });

  it("refuses a gzip bomb (413) before inflating it past the limit", async () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
    expect(bomb.byteLength).toBeLessThan(128 * 1024);
    const answer = await post(url, bomb, { ...protobuf, "content-encoding": "gzip" });
    expect(answer.status).toBe(413);
    expect(readRpcStatus(answer.bytes)).toEqual({
      code: 8,
      message: `the gzipped body inflates past the limit of ${4 * 1024 * 1024} bytes`,
    });
  });

  it("refuses a body over the limit (413), broken gzip and garbage (400), and other types (415)", async () => {
    const tooLarge = await post(url, new Uint8Array(4 * 1024 * 1024 + 1), protobuf);
    expect(tooLarge.status).toBe(413);
    expect(readRpcStatus(tooLarge.bytes)).toEqual({
      code: 8,
      message: `the body is larger than the limit of ${4 * 1024 * 1024} bytes (--otlp-max-body-bytes)`,
    });

    const brokenGzip = await post(url, Buffer.from("not gzip at all"), { ...protobuf, "content-encoding": "gzip" });
    expect(brokenGzip.status).toBe(400);
    expect(readRpcStatus(brokenGzip.bytes).message).toMatch(/^body: is not valid gzip/);

    const garbage = await post(url, new Uint8Array([0xff, 0xff, 0xff]), protobuf);
    expect(garbage.status).toBe(400);
    expect(readRpcStatus(garbage.bytes)).toMatchObject({ code: 3 });
    expect(readRpcStatus(garbage.bytes).message).toContain("is not a valid opentelemetry.proto.collector.trace.v1");

    const notJson = await post(url, "{nope", json);
    expect(notJson.status).toBe(400);
    expect((notJson.json() as { message: string }).message).toMatch(/^body: is not valid JSON/);

    const text = await post(url, "hello", { ...protobuf, "content-type": "text/plain" });
    expect(text.status).toBe(415);
    expect(readRpcStatus(text.bytes)).toEqual({
      code: 3,
      message: "content type text/plain is not taken: send application/x-protobuf or application/json",
    });
  });

  it("refuses a request without a key (401) before reading it", async () => {
    const answer = await post(url, traceRequestBytes([chatSpan()]), { "content-type": "application/x-protobuf" });
    expect(answer.status).toBe(401);
    expect(answer.headers.get("www-authenticate")).toBe("Bearer");
    expect(readRpcStatus(answer.bytes).code).toBe(16);
  });

  it("takes the project from a key limited to one project, whatever the resource says", async () => {
    const span = chatSpan();
    const answer = await post(url, traceRequestBytes([span], { "chaukas.project_id": "elsewhere" }), protobuf);
    expect(fromBinary(ExportTraceServiceResponseSchema, answer.bytes).partialSuccess).toBeUndefined();
    const stored = await storedOf(span.traceId as Uint8Array);
    expect(stored.map((e) => e.projectId)).toEqual([PROJECT, PROJECT]);
  });

  it("takes the project from chaukas.project_id, else service.name, for a key of the whole tenant", async () => {
    const headers = { ...protobuf, authorization: `Bearer ${server.tenantKey}` };
    const named = chatSpan();
    await post(url, traceRequestBytes([named], { "chaukas.project_id": "named", "service.name": "svc" }), headers);
    const byService = chatSpan();
    await post(url, traceRequestBytes([byService], { "service.name": "billing" }), headers);
    expect((await storedOf(named.traceId as Uint8Array)).map((e) => e.projectId)).toEqual(["named", "named"]);
    expect((await storedOf(byService.traceId as Uint8Array)).map((e) => e.projectId)).toEqual(["billing", "billing"]);
  });

  it("refuses spans whose resource names no project, for a key of the whole tenant, saying which attribute to set", async () => {
    const span = chatSpan();
    const headers = { ...protobuf, authorization: `Bearer ${server.tenantKey}` };
    const answer = await post(url, traceRequestBytes([span], { "deployment.environment": "test" }), headers);
    const response = fromBinary(ExportTraceServiceResponseSchema, answer.bytes);
    expect(response.partialSuccess?.rejectedSpans).toBe(1n);
    expect(response.partialSuccess?.errorMessage).toBe(
      `resource_spans[0].scope_spans[0].spans[0] (span ${Buffer.from(span.spanId as Uint8Array).toString("hex")}): ` +
        "its resource names no project: set its service.name or chaukas.project_id attribute",
    );
  });

  it("refuses spans whose resource names another tenant than the key's", async () => {
    const span = chatSpan();
    const answer = await post(url, traceRequestBytes([span], { "chaukas.tenant_id": "intruder" }), protobuf);
    const response = fromBinary(ExportTraceServiceResponseSchema, answer.bytes);
    expect(response.partialSuccess?.rejectedSpans).toBe(1n);
    expect(response.partialSuccess?.errorMessage).toContain(`tenant_id "intruder" is outside the scope of key`);
  });
});
