import http from "node:http";
import type { AddressInfo } from "node:net";
import { OpenAIInstrumentation } from "@arizeai/openinference-instrumentation-openai";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { SimpleSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Author, EventType } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import { storeKinds } from "../support/databases.ts";
import { type OtlpTestServer, PROJECT, startOtlpServer } from "./otlp-server.ts";

/** A tiny OpenAI-compatible chat completions endpoint on loopback, answering every prompt alike. */
async function startFakeOpenAi(): Promise<{ baseURL: string; close: () => Promise<void> }> {
  const server = http.createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => {
      body += chunk;
    });
    request.on("end", () => {
      const { model } = JSON.parse(body) as { model: string };
      response.writeHead(200, { "content-type": "application/json" });
      response.end(
        JSON.stringify({
          id: "chatcmpl-fake-1",
          object: "chat.completion",
          created: Math.floor(Date.now() / 1000),
          model: `${model}-2024-08-06`,
          choices: [{ index: 0, message: { role: "assistant", content: "Paris." }, finish_reason: "stop" }],
          usage: { prompt_tokens: 14, completion_tokens: 2, total_tokens: 16 },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe.each(await storeKinds())("spans of the OpenInference OpenAI instrumentation into the %s store", (kind) => {
  let server: OtlpTestServer;
  let fakeOpenAi: Awaited<ReturnType<typeof startFakeOpenAi>>;
  let provider: TracerProvider;
  let instrumentation: OpenAIInstrumentation;
  /** Called when a span ends: the instrumentation may end its span after the call's promise resolves. */
  let spanEnded = () => {};
  beforeAll(async () => {
    server = await startOtlpServer(kind);
    fakeOpenAi = await startFakeOpenAi();
    const exporter = new OTLPTraceExporter({
      url: `${server.baseUrl}/v1/traces`,
      headers: { authorization: `Bearer ${server.ingestKey}` },
    });
    provider = new TracerProvider({
      resource: resourceFromAttributes({ "service.name": "openai-agent" }),
      // The exporting processor sees each span first, so its export is pending when spanEnded is called.
      spanProcessors: [
        new SimpleSpanProcessor({ exporter }),
        {
          onStart: () => {},
          onEnd: () => spanEnded(),
          forceFlush: async () => {},
          shutdown: async () => {},
        },
      ],
    });
    instrumentation = new OpenAIInstrumentation({ tracerProvider: provider });
    // ESM imports cannot be patched on load: the class (which holds OpenAI.OpenAI) is patched instead.
    instrumentation.manuallyInstrument(OpenAI);
  });
  afterAll(async () => {
    instrumentation.disable();
    await provider.shutdown();
    await fakeOpenAi.close();
    await server.close();
  });

  it("stores a chat completion as input, model call with model, provider and tokens, and output", async () => {
    const client = new OpenAI({ apiKey: "sk-test", baseURL: fakeOpenAi.baseURL });
    const question = `What is the capital of France? (${Math.random()})`;
    const ended = new Promise<void>((resolve) => {
      spanEnded = resolve;
    });
    const completion = await client.chat.completions.create({
      model: "gpt-4o",
      messages: [{ role: "user", content: question }],
      temperature: 0.1,
    });
    expect(completion.choices[0].message.content).toBe("Paris.");
    await ended;
    await provider.forceFlush();

    const events = await server.query({ projectId: PROJECT, sessionId: "" });
    const run = events.filter(
      (e) =>
        e.type === EventType.INPUT_RECEIVED && e.content.case === "message" && e.content.value.text.includes(question),
    );
    expect(run).toHaveLength(1);
    const ofTrace = await server.query({ traceId: run[0].traceId });
    // The end and the output share the span's end time, so their order in a time query is open.
    const types = ofTrace.map((e) => e.type);
    expect(types.toSorted((a, b) => a - b)).toEqual([
      EventType.MODEL_INVOCATION_START,
      EventType.MODEL_INVOCATION_END,
      EventType.INPUT_RECEIVED,
      EventType.OUTPUT_EMITTED,
    ]);
    const [end, output] = [EventType.MODEL_INVOCATION_END, EventType.OUTPUT_EMITTED].map(
      (type) => ofTrace[types.indexOf(type)],
    );
    expect(end).toMatchObject({ author: Author.LLM, projectId: PROJECT, sessionId: run[0].traceId });
    expect(end.content.case).toBe("llmInvocation");
    expect(end.content.value).toMatchObject({
      provider: "openai",
      model: "gpt-4o-2024-08-06",
      promptTokens: 14,
      completionTokens: 2,
      totalTokens: 16,
      request: { invocation_parameters: { model: "gpt-4o", temperature: 0.1 } },
    });
    expect(end.metadata?.otel).toMatchObject({
      mapped_from: "openinference.span.kind=LLM",
      attributes: { "llm.input_messages.0.message.content": question },
    });
    expect(output.content).toMatchObject({ case: "message", value: { role: "assistant" } });
    expect(JSON.stringify(output.content.value)).toContain("Paris.");
  });
});
