import { fromJson, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import {
  type ExportLogsServiceRequest,
  ExportLogsServiceRequestSchema,
} from "../../../gen/opentelemetry/proto/collector/logs/v1/logs_service_pb.ts";
import {
  type ExportTraceServiceRequest,
  ExportTraceServiceRequestSchema,
} from "../../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.ts";

/** Why an OTLP JSON body cannot be read: its path and the problem. */
export class OtlpJsonError extends Error {
  readonly path: string;
  readonly problem: string;

  constructor(path: string, problem: string) {
    super(`${path}: ${problem}`);
    this.path = path;
    this.problem = problem;
  }
}

/**
 * OTLP JSON is proto3 JSON but for its ids: trace and span ids are hex, where proto3 JSON reads
 * bytes as base64 (and would silently make wrong ids of them). Ids are turned into base64 here,
 * refusing any that is not hex, then the message is read ignoring unknown fields, as OTLP asks.
 */
export function traceRequestFromOtlpJson(json: JsonValue): ExportTraceServiceRequest {
  for (const [r, resource] of items(json, "resourceSpans", "resource_spans", "")) {
    for (const [s, scope] of items(resource, "scopeSpans", "scope_spans", r)) {
      for (const [i, span] of items(scope, "spans", "spans", s)) {
        hexIdsToBase64(span, i, [...TRACE_AND_SPAN_IDS, "parentSpanId", "parent_span_id"]);
        for (const [l, link] of items(span, "links", "links", i)) hexIdsToBase64(link, l, TRACE_AND_SPAN_IDS);
      }
    }
  }
  return fromJson(ExportTraceServiceRequestSchema, json, { ignoreUnknownFields: true });
}

export function logsRequestFromOtlpJson(json: JsonValue): ExportLogsServiceRequest {
  for (const [r, resource] of items(json, "resourceLogs", "resource_logs", "")) {
    for (const [s, scope] of items(resource, "scopeLogs", "scope_logs", r)) {
      for (const [i, record] of items(scope, "logRecords", "log_records", s)) {
        hexIdsToBase64(record, i, TRACE_AND_SPAN_IDS);
      }
    }
  }
  return fromJson(ExportLogsServiceRequestSchema, json, { ignoreUnknownFields: true });
}

/** The objects of a list field (by its JSON or proto name), each with its path. */
function items(parent: JsonValue, jsonName: string, protoName: string, at: string): [string, JsonObject][] {
  if (!isObject(parent)) return [];
  const name = jsonName in parent ? jsonName : protoName;
  const list = parent[name];
  if (!Array.isArray(list)) return [];
  return list.flatMap((item, index) => (isObject(item) ? [[`${at}${at ? "." : ""}${name}[${index}]`, item]] : []));
}

/** Id fields by their JSON and proto names (proto3 JSON parsers take either). */
const TRACE_AND_SPAN_IDS = ["traceId", "trace_id", "spanId", "span_id"];

function hexIdsToBase64(object: JsonObject, at: string, names: readonly string[]): void {
  for (const name of names) {
    const value = object[name];
    if (value === undefined || value === null) continue;
    if (typeof value !== "string" || !/^([0-9a-fA-F]{2})*$/.test(value)) {
      const shown = JSON.stringify(value).slice(0, 40);
      throw new OtlpJsonError(`${at}.${name}`, `${shown} is not hex (OTLP JSON ids are hex, not base64)`);
    }
    object[name] = Buffer.from(value, "hex").toString("base64");
  }
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
