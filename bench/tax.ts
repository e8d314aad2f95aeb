import http from "node:http";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { ChaukasServerService } from "../gen/chaukas/spec/server/v1/server_pb.ts";
import { startServerProcess } from "../kit/server-process.ts";
import { type BenchContext, startServer } from "./context.ts";
import { post, type RunTotals, runConcurrently } from "./load.ts";
import { log } from "./log.ts";
import { processCpuSeconds } from "./meters.ts";
import { grpcFrame, RawGrpcConnection } from "./raw-grpc.ts";
import { type Latency, latency, round } from "./stats.ts";

export interface TaxResult extends Latency {
  requestsPerSec: number;
  what: string;
  /** CPU time per request in the server process and in the client (this process), microseconds. */
  serverCpuUsPerRequest: number;
  clientCpuUsPerRequest: number;
  /** HTTP/1.1 only: TCP connections the client opened while measuring (keep-alive: one per worker). */
  connectionsOpened?: number;
  /** GET only: requests sent again because the server closed their keep-alive connection under them. */
  resentAfterReset?: number;
}

/** Counts the connections an agent opens from now on. */
function countConnections(agent: http.Agent): () => number {
  let opened = 0;
  const create = agent.createConnection.bind(agent);
  agent.createConnection = (...args: Parameters<typeof create>) => {
    opened++;
    return create(...args);
  };
  return () => opened;
}

/** One kind of call the tax measures, and the connections it counts (HTTP/1.1 only). */
interface TaxCall {
  key: string;
  what: string;
  call: () => Promise<void>;
  agent?: http.Agent;
  /** GET only: requests sent again after the server closed their keep-alive connection. */
  resent?: { count: number };
  close?: () => void;
}

/** GET `path` on a keep-alive agent; sent again when the server closed the connection under it (GET is idempotent). */
function getCall(key: string, what: string, baseUrl: string, path: string, agent: http.Agent): TaxCall {
  const url = new URL(path, baseUrl);
  const resent = { count: 0 };
  const call = async () => {
    for (let attempt = 1; ; attempt++) {
      try {
        const { status } = await post(url, undefined, {}, agent, "GET");
        if (status !== 200) throw new Error(`GET ${path} answered ${status}`);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ECONNRESET" || attempt === 10) throw err;
        resent.count++;
      }
    }
  };
  return { key, what, call, agent, resent };
}

const HEALTHZ = ChaukasServerService.method.healthz;

/** Healthz as curl sends it over the Connect protocol: a JSON POST. */
function connectJsonHealthz(baseUrl: string, agent: http.Agent) {
  const url = new URL(`/${ChaukasServerService.typeName}/${HEALTHZ.name}`, baseUrl);
  const body = Buffer.from("{}");
  return async () => {
    const { status, text } = await post(url, body, { "content-type": "application/json" }, agent);
    if (status !== 200) throw new Error(`Healthz over Connect answered ${status}: ${text}`);
  };
}

/**
 * The framework tax: one kind of call after the other, with the same number of requests and the
 * same concurrency, each measured after a warm-up. Every client is as light as the protocol allows
 * (a raw HTTP/1.1 request, a pre-framed gRPC call on one HTTP/2 connection): it runs on the same
 * two cores as the server, so its cost is in the req/s too.
 */
async function measureTax(
  calls: TaxCall[],
  serverCpuSeconds: () => number,
  { requests, concurrency }: { requests: number; concurrency: number },
): Promise<Record<string, TaxResult>> {
  const results: Record<string, TaxResult> = {};
  try {
    for (const { key, what, call, agent, resent } of calls) {
      log(`framework tax: ${what}`);
      const send = async () => {
        await call();
        return { events: 0, bytes: 0 };
      };
      await runConcurrently(Math.min(200, requests), concurrency, send);
      const opened = agent ? countConnections(agent) : undefined;
      if (resent) resent.count = 0;
      const cpu = { server: serverCpuSeconds(), client: process.cpuUsage() };
      const totals: RunTotals = await runConcurrently(requests, concurrency, send);
      const client = process.cpuUsage(cpu.client);
      results[key] = {
        ...latency(totals.latenciesMs),
        requestsPerSec: round(totals.requests / totals.seconds),
        serverCpuUsPerRequest: round(((serverCpuSeconds() - cpu.server) * 1e6) / totals.requests),
        clientCpuUsPerRequest: round((client.user + client.system) / totals.requests),
        what,
        ...(opened ? { connectionsOpened: opened() } : {}),
        ...(resent ? { resentAfterReset: resent.count } : {}),
      };
    }
  } finally {
    for (const { agent, close } of calls) {
      agent?.destroy();
      close?.();
    }
  }
  return results;
}

/**
 * The calls of a server at `baseUrl`, keyed `${prefix}Get` and so on: GET /healthz (no database),
 * GET /readyz when `readyz` (one statement), and Healthz over Connect JSON and over gRPC.
 */
function taxCalls(baseUrl: string, prefix: string, whose: string, concurrency: number, readyz: boolean): TaxCall[] {
  const agent = () => new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const calls = [getCall(`${prefix}Get`, `${whose}: GET /healthz (Fastify, HTTP/1.1)`, baseUrl, "/healthz", agent())];
  if (readyz)
    calls.push(getCall(`${prefix}Readyz`, `${whose}: GET /readyz (Fastify, HTTP/1.1)`, baseUrl, "/readyz", agent()));
  const json = agent();
  calls.push({
    key: `${prefix}Connect`,
    what: `${whose}: Healthz, Connect JSON, HTTP/1.1`,
    agent: json,
    call: connectJsonHealthz(baseUrl, json),
  });
  calls.push(grpcCall(baseUrl, `${prefix}Grpc`, `${whose}: Healthz, gRPC, one HTTP/2 connection`));
  return calls;
}

/** Healthz over gRPC: pre-framed calls on one HTTP/2 connection. */
function grpcCall(baseUrl: string, key: string, what: string): TaxCall {
  const grpc = new RawGrpcConnection(baseUrl);
  const framed = grpcFrame(toBinary(HEALTHZ.input, create(HEALTHZ.input)));
  return { key, what, call: async () => void (await grpc.call(HEALTHZ, framed)), close: () => grpc.close() };
}

/**
 * The framework tax on the server over the emptied database (its Healthz and GET /readyz each run
 * one statement, GET /healthz none), then on the RPC stack alone (stack-server.ts: no database),
 * then a gRPC Healthz on what lies under connect: Fastify alone (stack-server.ts
 * --without-connect) and Node's HTTP/2 alone (http2-server.ts).
 */
export async function taxPart(ctx: BenchContext): Promise<Record<string, TaxResult>> {
  const sizes = { requests: ctx.o.taxRequests, concurrency: ctx.o.taxConcurrency };
  await ctx.db.emptyIngested();
  const server = await startServer(ctx, "tax", { databaseUrl: ctx.db.url });
  let results: Record<string, TaxResult>;
  try {
    const calls = taxCalls(server.baseUrl, "server", "server", sizes.concurrency, true);
    results = await measureTax(calls, () => processCpuSeconds(server.pid), sizes);
  } finally {
    await server.stop();
  }
  const layers = [
    {
      name: "stack",
      main: "stack-server.ts",
      args: [],
      calls: (url: string) => taxCalls(url, "stack", "stack alone", sizes.concurrency, false),
    },
    {
      name: "fastify-alone",
      main: "stack-server.ts",
      args: ["--without-connect"],
      calls: (url: string) => [
        grpcCall(url, "fastifyGrpc", "Fastify alone: a gRPC-shaped Healthz route, one HTTP/2 connection"),
      ],
    },
    {
      name: "http2-alone",
      main: "http2-server.ts",
      args: [],
      calls: (url: string) => [
        grpcCall(url, "http2Grpc", "node:http2 alone: a gRPC-shaped answer, one HTTP/2 connection"),
      ],
    },
  ];
  for (const layer of layers) {
    const layerServer = await startServerProcess(layer.args, {
      main: join(import.meta.dirname, layer.main),
      nodeFlags: ctx.o.serverNodeFlags,
      logFile: join(ctx.tmp, `server-${layer.name}.log`),
    });
    try {
      const calls = layer.calls(layerServer.baseUrl);
      Object.assign(results, await measureTax(calls, () => processCpuSeconds(layerServer.pid), sizes));
    } finally {
      await layerServer.stop();
    }
  }
  return results;
}
