import http from "node:http";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { ChaukasServerService } from "../gen/chaukas/spec/server/v1/server_pb.ts";
import { type BenchContext, startServer } from "./context.ts";
import { GrpcConnections, post, type RunTotals, runConcurrently } from "./load.ts";
import { log } from "./log.ts";
import { processCpuSeconds } from "./meters.ts";
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

/**
 * The framework tax: the same health check (each runs `SELECT 1` on the database) as a bare
 * Fastify JSON route (GET /healthz), as Connect's unary Healthz in JSON over HTTP/1.1, and as
 * gRPC over HTTP/2, with the same number of requests and the same concurrency. The client runs
 * on the same two cores as the server, so these figures include its cost too.
 */
async function measureTax(
  baseUrl: string,
  serverCpuSeconds: () => number,
  { requests, concurrency }: { requests: number; concurrency: number },
): Promise<Record<string, TaxResult>> {
  let cpu = { server: 0, client: process.cpuUsage() };
  const summarize = (what: string, totals: RunTotals): TaxResult => {
    const client = process.cpuUsage(cpu.client);
    return {
      ...latency(totals.latenciesMs),
      requestsPerSec: round(totals.requests / totals.seconds),
      serverCpuUsPerRequest: round(((serverCpuSeconds() - cpu.server) * 1e6) / totals.requests),
      clientCpuUsPerRequest: round((client.user + client.system) / totals.requests),
      what,
    };
  };
  /** Warm-up, then `requests` measured calls; `beforeMeasuring` runs in between. */
  const measure = async (call: () => Promise<void>, beforeMeasuring = () => {}) => {
    const send = async () => {
      await call();
      return { events: 0, bytes: 0 };
    };
    await runConcurrently(Math.min(200, requests), concurrency, send);
    beforeMeasuring();
    cpu = { server: serverCpuSeconds(), client: process.cpuUsage() };
    return runConcurrently(requests, concurrency, send);
  };
  const results: Record<string, TaxResult> = {};

  log("framework tax: GET /healthz (Fastify)");
  {
    const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
    const url = new URL("/healthz", baseUrl);
    let resent = 0;
    let opened = () => 0;
    const measured = await measure(
      async () => {
        // GET is idempotent: one whose keep-alive connection the server closed under it is sent again.
        for (let attempt = 1; ; attempt++) {
          try {
            const { status } = await post(url, undefined, {}, agent, "GET");
            if (status !== 200) throw new Error(`GET /healthz answered ${status}`);
            return;
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== "ECONNRESET" || attempt === 10) throw err;
            resent++;
          }
        }
      },
      () => {
        opened = countConnections(agent);
        resent = 0;
      },
    );
    results.fastifyGet = {
      ...summarize("GET /healthz, bare Fastify JSON route, HTTP/1.1 keep-alive", measured),
      connectionsOpened: opened(),
      resentAfterReset: resent,
    };
    agent.destroy();
  }

  log("framework tax: Healthz over Connect (JSON, HTTP/1.1)");
  {
    const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
    const client = createClient(
      ChaukasServerService,
      createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: false, nodeOptions: { agent } }),
    );
    let opened = () => 0;
    const measured = await measure(
      async () => {
        await client.healthz({});
      },
      () => {
        opened = countConnections(agent);
      },
    );
    results.connectHealthz = {
      ...summarize("Healthz, Connect protocol, JSON, HTTP/1.1 keep-alive", measured),
      connectionsOpened: opened(),
    };
    agent.destroy();
  }

  log("framework tax: Healthz over gRPC (HTTP/2)");
  {
    const grpc = new GrpcConnections(baseUrl, 1);
    try {
      results.grpcHealthz = summarize(
        `Healthz, gRPC, one HTTP/2 connection, ${concurrency} concurrent streams`,
        await measure(async () => {
          await grpc.clients[0].healthz({});
        }),
      );
    } finally {
      grpc.close();
    }
  }
  return results;
}

/** The framework tax on a server over the emptied database. */
export async function taxPart(ctx: BenchContext): Promise<Record<string, TaxResult>> {
  await ctx.db.emptyIngested();
  const server = await startServer(ctx, "tax", { databaseUrl: ctx.db.url });
  try {
    return await measureTax(server.baseUrl, () => processCpuSeconds(server.pid), {
      requests: ctx.o.taxRequests,
      concurrency: ctx.o.taxConcurrency,
    });
  } finally {
    await server.stop();
  }
}
