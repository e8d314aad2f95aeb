import http from "node:http";
import { create, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { ExportTraceServiceRequestSchema } from "../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.ts";
import type { KeyValueSchema } from "../gen/opentelemetry/proto/common/v1/common_pb.ts";
import type { SpanSchema } from "../gen/opentelemetry/proto/trace/v1/trace_pb.ts";
import { Random } from "../kit/random.ts";
import { type BenchContext, startServer } from "./context.ts";
import { type IngestResult, ingestPart, measureIngest } from "./ingest.ts";
import type { IngestCorpus } from "./ingest-corpus.ts";
import { post, type RunTotals, runConcurrently } from "./load.ts";
import { log, progress } from "./log.ts";
import { round, thousands } from "./stats.ts";

/** Spans per export: the OpenTelemetry SDKs' default batch (OTEL_BSP_MAX_EXPORT_BATCH_SIZE). */
export const OTLP_BATCH_SPANS = 512;
/** The OpenTelemetry Collector's published throughput, for scale: about 12k spans/s per CPU. */
export const COLLECTOR_SPANS_PER_CPU = 12_000;

export interface OtlpRuns {
  /** OTLP/HTTP protobuf exports of OTLP_BATCH_SPANS GenAI chat spans (2 events each). */
  otlpHttp: IngestResult & { spansPerSec: number };
  /** gRPC IngestEventBatch of the same run, to compare with. */
  grpcBatch500?: IngestResult;
  ratioToGrpcBatch?: number;
}

/**
 * OTLP/HTTP ingest beside gRPC IngestEventBatch in the same run: as many events (each span is a
 * MODEL_INVOCATION_START and _END), exports encoded before the clock starts, sent by the SDK part's
 * number of keep-alive clients, one export at a time each (as a BatchSpanProcessor does).
 */
export async function otlpPart(
  ctx: BenchContext,
  corpus: IngestCorpus,
  grpcBatch500: IngestResult | undefined,
): Promise<OtlpRuns> {
  const { o } = ctx;
  const spans = Math.floor(o.ingestEvents / 2);
  const exports = otlpExports(spans, o.seed);
  const warm = otlpExports(Math.floor(corpus.warm.length / 2), o.seed + 1);
  const what = `OTLP/HTTP protobuf, ${OTLP_BATCH_SPANS} GenAI spans (${2 * OTLP_BATCH_SPANS} events), ${o.sdkClients} clients (HTTP/1.1 keep-alive)`;
  log(`otlp: ${what}: starting a server`);
  const server = await startServer(ctx, "otlp-http", { databaseUrl: ctx.db.url });
  let otlpHttp: OtlpRuns["otlpHttp"];
  try {
    await runOtlpExports(server.baseUrl, warm, o.sdkClients);
    log(`otlp: ${what}: measuring`);
    const result = await measureIngest(what, server, ctx.db, () =>
      runOtlpExports(server.baseUrl, exports, o.sdkClients, progress("otlp exports", exports.length)),
    );
    otlpHttp = { ...result, spansPerSec: round(result.eventsPerSec / 2) };
  } finally {
    await server.stop();
  }
  const grpc =
    grpcBatch500 ??
    (await ingestPart(ctx, corpus, { label: "postgres, beside OTLP", modes: ["grpcBatch500"] })).grpcBatch500;
  const ratioToGrpcBatch = grpc ? round(otlpHttp.eventsPerSec / grpc.eventsPerSec, 3) : undefined;
  log(
    `otlp: ${thousands(otlpHttp.spansPerSec)} spans/s (${thousands(otlpHttp.eventsPerSec)} events/s), ${ratioToGrpcBatch === undefined ? "" : `${round(ratioToGrpcBatch * 100, 1)}% of gRPC batches; `}the Collector publishes ~${thousands(COLLECTOR_SPANS_PER_CPU)} spans/s per CPU`,
  );
  return { otlpHttp, grpcBatch500: grpc, ratioToGrpcBatch };
}

interface OtlpExport {
  body: Buffer;
  events: number;
}

/** `spans` GenAI chat spans with prompts, completions and token counts, in exports of OTLP_BATCH_SPANS. */
function otlpExports(spans: number, seed: number): OtlpExport[] {
  const random = new Random(seed);
  const exports: OtlpExport[] = [];
  const start = BigInt(Date.UTC(2026, 10, 1)) * 1_000_000n;
  for (let first = 0; first < spans; first += OTLP_BATCH_SPANS) {
    const batch: MessageInitShape<typeof SpanSchema>[] = [];
    for (let i = first; i < Math.min(spans, first + OTLP_BATCH_SPANS); i++) {
      const begins = start + BigInt(i) * 1_000_000n;
      batch.push({
        traceId: Buffer.from(random.hex(32), "hex"),
        spanId: Buffer.from(random.hex(16), "hex"),
        name: "chat gpt-4o",
        kind: 3,
        startTimeUnixNano: begins,
        endTimeUnixNano: begins + BigInt(random.between(200, 3000)) * 1_000_000n,
        attributes: [
          text("gen_ai.operation.name", "chat"),
          text("gen_ai.provider.name", "openai"),
          text("gen_ai.request.model", "gpt-4o"),
          text("gen_ai.response.model", "gpt-4o-2024-08-06"),
          text("gen_ai.conversation.id", `conv-${random.int(spans / 20 + 1)}`),
          number("gen_ai.usage.input_tokens", random.between(50, 2000)),
          number("gen_ai.usage.output_tokens", random.between(10, 500)),
          text(
            "gen_ai.input.messages",
            JSON.stringify([{ role: "user", parts: [{ type: "text", content: words(random, 40) }] }]),
          ),
          text(
            "gen_ai.output.messages",
            JSON.stringify([{ role: "assistant", parts: [{ type: "text", content: words(random, 30) }] }]),
          ),
        ],
      });
    }
    const request = create(ExportTraceServiceRequestSchema, {
      resourceSpans: [
        { resource: { attributes: [text("service.name", "bench-agent")] }, scopeSpans: [{ spans: batch }] },
      ],
    });
    const bytes = toBinary(ExportTraceServiceRequestSchema, request);
    exports.push({ body: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), events: 2 * batch.length });
  }
  return exports;
}

async function runOtlpExports(
  baseUrl: string,
  exports: readonly OtlpExport[],
  clients: number,
  onProgress?: (done: number) => void,
): Promise<RunTotals> {
  const agents = Array.from({ length: clients }, () => new http.Agent({ keepAlive: true, maxSockets: 1 }));
  const url = new URL("/v1/traces", baseUrl);
  try {
    return await runConcurrently(
      exports.length,
      clients,
      async (i, w) => {
        const { body, events } = exports[i];
        const { status, text } = await post(url, body, { "content-type": "application/x-protobuf" }, agents[w]);
        if (status !== 200) throw new Error(`POST /v1/traces answered ${status}: ${text}`);
        // An empty ExportTraceServiceResponse: no partial_success, every span stored.
        if (text !== "") throw new Error(`POST /v1/traces refused spans: ${text}`);
        return { events, bytes: body.length };
      },
      onProgress,
    );
  } finally {
    for (const agent of agents) agent.destroy();
  }
}

const WORDS = ["weather", "paris", "invoice", "refund", "agent", "booking", "table", "policy", "search", "order"];

function words(random: Random, count: number): string {
  return Array.from({ length: count }, () => WORDS[random.int(WORDS.length)]).join(" ");
}

type KeyValueInit = MessageInitShape<typeof KeyValueSchema>;

function text(key: string, value: string): KeyValueInit {
  return { key, value: { value: { case: "stringValue", value } } };
}

function number(key: string, value: number): KeyValueInit {
  return { key, value: { value: { case: "intValue", value: BigInt(value) } } };
}
