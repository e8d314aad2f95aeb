import http from "node:http";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import * as clientV1 from "../gen/chaukas/spec/client/v1/client_pb.ts";
import type { Event } from "../gen/chaukas/spec/common/v1/events_pb.ts";
import {
  ChaukasServerService,
  IngestEventBatchRequestSchema,
  IngestEventRequestSchema,
} from "../gen/chaukas/spec/server/v1/server_pb.ts";
import { uuid7 } from "../kit/corpus.ts";
import { Random } from "../kit/random.ts";
import { SDK_HEADERS } from "../kit/sdk-headers.ts";
import { grpcFrame, RawGrpcConnection } from "./raw-grpc.ts";

/**
 * Load generators for the server's three ingest paths. Every request body is encoded before the
 * clock starts, so the client spends its (shared, two-core) CPU on sending, not on protobuf.
 */

/** One timed request: how many events it carried and how many protobuf bytes. */
export interface Sample {
  events: number;
  bytes: number;
  ms: number;
}

export interface RunTotals {
  requests: number;
  events: number;
  bytes: number;
  seconds: number;
  latenciesMs: number[];
}

/** One framed gRPC request body and what it carries. */
export interface GrpcRequest {
  framed: Buffer;
  events: number;
  bytes: number;
}

/** IngestEventBatch requests of `size` events (chaukas.spec.server.v1), encoded and framed once. */
export function grpcBatches(events: readonly Event[], size: number, seed: number): GrpcRequest[] {
  const random = new Random(seed);
  const requests = [];
  for (let i = 0; i < events.length; i += size) {
    const slice = events.slice(i, i + size);
    const request = toBinary(
      IngestEventBatchRequestSchema,
      create(IngestEventBatchRequestSchema, {
        eventBatch: { batchId: uuid7(Date.UTC(2026, 10, 1) + i, random), timestamp: slice[0].timestamp, events: slice },
      }),
    );
    requests.push({ framed: grpcFrame(request), events: slice.length, bytes: request.length });
  }
  return requests;
}

/** IngestEvent requests, one event each (chaukas.spec.server.v1), encoded and framed once. */
export function grpcSingles(events: readonly Event[]): GrpcRequest[] {
  return events.map((event) => {
    const request = toBinary(IngestEventRequestSchema, create(IngestEventRequestSchema, { event }));
    return { framed: grpcFrame(request), events: 1, bytes: request.length };
  });
}

/**
 * The Python SDK's batch bodies: a binary chaukas.spec.client.v1.IngestEventBatchRequest of `size`
 * events, with a UUIDv7 batch id and the batch timestamp set.
 */
export function sdkBatchBodies(
  events: readonly Event[],
  size: number,
  seed: number,
): { body: Buffer; events: number }[] {
  const random = new Random(seed);
  const bodies = [];
  for (let i = 0; i < events.length; i += size) {
    const slice = events.slice(i, i + size);
    const body = toBinary(
      clientV1.IngestEventBatchRequestSchema,
      create(clientV1.IngestEventBatchRequestSchema, {
        eventBatch: { batchId: uuid7(Date.UTC(2026, 10, 1) + i, random), timestamp: slice[0].timestamp, events: slice },
      }),
    );
    bodies.push({ body: Buffer.from(body.buffer, body.byteOffset, body.byteLength), events: slice.length });
  }
  return bodies;
}

/** Runs `count` requests with `concurrency` workers; worker `w` sends with `send(i, w)`. */
export async function runConcurrently(
  count: number,
  concurrency: number,
  send: (index: number, worker: number) => Promise<{ events: number; bytes: number }>,
  progress?: (done: number) => void,
): Promise<RunTotals> {
  const latenciesMs: number[] = [];
  let next = 0;
  let events = 0;
  let bytes = 0;
  const started = performance.now();
  const worker = async (w: number) => {
    for (let i = next++; i < count; i = next++) {
      const t0 = performance.now();
      const done = await send(i, w);
      latenciesMs.push(performance.now() - t0);
      events += done.events;
      bytes += done.bytes;
      if (progress && latenciesMs.length % 200 === 0) progress(latenciesMs.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, (_, w) => worker(w)));
  return { requests: count, events, bytes, seconds: (performance.now() - started) / 1000, latenciesMs };
}

/** gRPC clients of ChaukasServerService, one HTTP/2 connection each. */
export class GrpcConnections {
  readonly clients: Client<typeof ChaukasServerService>[];
  readonly #sessions: Http2SessionManager[];

  constructor(baseUrl: string, connections: number) {
    this.#sessions = Array.from({ length: connections }, () => new Http2SessionManager(baseUrl));
    this.clients = this.#sessions.map((sessionManager) =>
      createClient(ChaukasServerService, createGrpcTransport({ baseUrl, sessionManager })),
    );
  }

  close(): void {
    for (const session of this.#sessions) session.abort();
  }
}

/** gRPC IngestEventBatch over `connections` HTTP/2 connections, `streams` concurrent calls on each. */
export function runGrpcBatches(
  baseUrl: string,
  requests: readonly GrpcRequest[],
  connections: number,
  streams: number,
  progress?: (done: number) => void,
): Promise<RunTotals> {
  const method = ChaukasServerService.method.ingestEventBatch;
  return runGrpc(baseUrl, requests, connections, streams, progress, async (connection, request, i) => {
    const response = fromBinary(method.output, await connection.call(method, request.framed));
    if (response.acceptedCount !== request.events) {
      throw new Error(`batch ${i}: ${response.acceptedCount} of ${request.events} accepted`);
    }
  });
}

/** gRPC IngestEvent, one event per call. */
export function runGrpcSingles(
  baseUrl: string,
  requests: readonly GrpcRequest[],
  connections: number,
  streams: number,
  progress?: (done: number) => void,
): Promise<RunTotals> {
  const method = ChaukasServerService.method.ingestEvent;
  return runGrpc(baseUrl, requests, connections, streams, progress, async (connection, request, i) => {
    const response = fromBinary(method.output, await connection.call(method, request.framed));
    if (response.status !== "accepted") throw new Error(`event ${i}: ${response.status}`);
  });
}

/** Sends every request once, `streams` at a time on each of `connections` HTTP/2 connections. */
async function runGrpc(
  baseUrl: string,
  requests: readonly GrpcRequest[],
  connections: number,
  streams: number,
  progress: ((done: number) => void) | undefined,
  send: (connection: RawGrpcConnection, request: GrpcRequest, i: number) => Promise<void>,
): Promise<RunTotals> {
  const open = Array.from({ length: connections }, () => new RawGrpcConnection(baseUrl));
  try {
    return await runConcurrently(
      requests.length,
      connections * streams,
      async (i, w) => {
        await send(open[w % connections], requests[i], i);
        return requests[i];
      },
      progress,
    );
  } finally {
    for (const connection of open) connection.close();
  }
}

/**
 * The SDK's `POST /events/batch`: `clients` SDK processes, each with one keep-alive HTTP/1.1
 * connection and one request at a time (the SDK flushes from one thread).
 */
export async function runSdkBatches(
  baseUrl: string,
  bodies: ReturnType<typeof sdkBatchBodies>,
  clients: number,
  progress?: (done: number) => void,
): Promise<RunTotals> {
  const agents = Array.from({ length: clients }, () => new http.Agent({ keepAlive: true, maxSockets: 1 }));
  const url = new URL("/events/batch", baseUrl);
  try {
    return await runConcurrently(
      bodies.length,
      clients,
      async (i, w) => {
        const { body, events } = bodies[i];
        const { status, text } = await post(url, body, SDK_HEADERS, agents[w]);
        if (status !== 200) throw new Error(`POST /events/batch answered ${status}: ${text}`);
        const accepted = (JSON.parse(text) as { accepted: number }).accepted;
        if (accepted !== events) throw new Error(`POST /events/batch: ${accepted} of ${events} accepted`);
        return { events, bytes: body.length };
      },
      progress,
    );
  } finally {
    for (const agent of agents) agent.destroy();
  }
}

/** One HTTP/1.1 request; resolves with the status and the whole body. */
export function post(
  url: URL,
  body: Buffer | undefined,
  headers: Record<string, string>,
  agent: http.Agent,
  method = "POST",
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method, agent, headers: body ? { ...headers, "content-length": String(body.length) } : headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}
