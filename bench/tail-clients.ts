import { setTimeout as sleep } from "node:timers/promises";
import { parentPort, Worker, workerData } from "node:worker_threads";
import { create, toBinary } from "@bufbuild/protobuf";
import { BinaryReader } from "@bufbuild/protobuf/wire";
import * as grpc from "@grpc/grpc-js";
import {
  TailEventBatchSchema,
  TailEventsRequestSchema,
  TailEventsResponseSchema,
} from "../gen/chaukas/backend/v1/tail_pb.ts";
import { EventSchema } from "../gen/chaukas/spec/common/v1/events_pb.ts";
import { MAX_EVENTS_PER_ITEM } from "../src/core/tail/tail-hub.ts";

/*
 * The tail part's subscribers run on a worker thread of the bench process, so their deliveries and
 * arrival maps share neither the event loop nor the heap of the ingest load the part measures
 * (docs/adr/0046-bench-tail-clients-on-a-worker-thread.md). They still share the machine's cores.
 */

/** Milliseconds on the process's monotonic clock, which both threads read (each thread's performance.now() has its own origin). */
export const sharedClockMs = () => Number(process.hrtime.bigint()) / 1e6;

interface TailSetup {
  address: string;
  tenantId: string;
  count: number;
}

type TailQuestion =
  | { kind: "waitFor"; ids: string[]; timeoutMs: number }
  | { kind: "arrivals"; ids: string[] }
  | { kind: "clear" }
  | { kind: "counts" };

/** `count` bench tails of one tenant on a worker thread; each method asks the worker and waits for its answer. */
export class TailClients {
  readonly #worker: Worker;
  #queue: Promise<unknown> = Promise.resolve();
  /** Why the worker is gone, once it is: later questions fail at once. */
  #failed: Error | undefined;

  private constructor(worker: Worker) {
    this.#worker = worker;
    worker.on("error", (err) => {
      this.#failed ??= err;
    });
    worker.on("exit", (code) => {
      this.#failed ??= new Error(`the tails' worker exited with code ${code}`);
    });
  }

  /** The tails, once each has had its first heartbeat from the server (it is following). */
  static async open(setup: TailSetup): Promise<TailClients> {
    const worker = new Worker(new URL(import.meta.url), { workerData: { benchTails: setup } });
    await nextMessage(worker);
    return new TailClients(worker);
  }

  /** Resolves once every tail has received every one of `ids`, or after `timeoutMs`. */
  waitFor(ids: string[], timeoutMs: number): Promise<void> {
    return this.#ask({ kind: "waitFor", ids, timeoutMs }) as Promise<void>;
  }

  /** For each tail, when each of `ids` arrived (sharedClockMs), undefined if it has not. */
  arrivals(ids: string[]): Promise<(number | undefined)[][]> {
    return this.#ask({ kind: "arrivals", ids }) as Promise<(number | undefined)[][]>;
  }

  /** Forgets every arrival so far. */
  clear(): Promise<void> {
    return this.#ask({ kind: "clear" }) as Promise<void>;
  }

  /** Streams the server ended as too slow, and calls that failed, over all tails so far. */
  counts(): Promise<{ slowEnds: number; failures: number }> {
    return this.#ask({ kind: "counts" }) as Promise<{ slowEnds: number; failures: number }>;
  }

  /** Ends the worker, and with it the tails' connections. */
  async close(): Promise<void> {
    await this.#worker.terminate();
  }

  /** One request at a time: each answer is the worker's next message. */
  #ask(request: TailQuestion): Promise<unknown> {
    const answer = this.#queue.then(() => {
      if (this.#failed) throw this.#failed;
      const next = nextMessage(this.#worker);
      this.#worker.postMessage(request);
      return next;
    });
    this.#queue = answer;
    return answer;
  }
}

/** The worker's next message; rejected if it fails or exits first, so no question waits for an answer that cannot come. */
function nextMessage(worker: Worker): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const settle = (done: () => void) => {
      worker.off("message", onMessage).off("error", onError).off("exit", onExit);
      done();
    };
    const onMessage = (message: unknown) => settle(() => resolve(message));
    const onError = (err: Error) => settle(() => reject(err));
    const onExit = (code: number) => settle(() => reject(new Error(`the tails' worker exited with code ${code}`)));
    worker.on("message", onMessage).on("error", onError).on("exit", onExit);
  });
}

/** A bench tail's HTTP/2 receive window (HTTP/2's default is 64 KiB): room for many batches in flight. */
const RECEIVE_WINDOW_BYTES = 2 << 20;

/** What a bench tail reads of a response: its events' ids (the events are not decoded), the item, the cursor. */
interface LightResponse {
  item: "events" | "heartbeat" | "end" | undefined;
  eventIds: string[];
  cursor: string;
}

/** Reads a TailEventsResponse's item, event ids and cursor from its bytes, skipping the rest. */
function lightResponse(bytes: Buffer): LightResponse {
  const out: LightResponse = { item: undefined, eventIds: [], cursor: "" };
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [no, wireType] = reader.tag();
    if (no === TailEventsResponseSchema.field.cursor.number) out.cursor = reader.string();
    else if (no === TailEventsResponseSchema.field.events.number) {
      out.item = "events";
      const batch = new BinaryReader(reader.bytes());
      while (batch.pos < batch.len) {
        const [field, type] = batch.tag();
        if (field === TailEventBatchSchema.field.events.number) out.eventIds.push(eventIdOf(batch.bytes()));
        else batch.skip(type);
      }
    } else {
      if (no === TailEventsResponseSchema.field.heartbeat.number) out.item = "heartbeat";
      else if (no === TailEventsResponseSchema.field.end.number) out.item = "end";
      reader.skip(wireType);
    }
  }
  return out;
}

/** An encoded event's id, the rest skipped. */
function eventIdOf(bytes: Uint8Array): string {
  const event = new BinaryReader(bytes);
  while (event.pos < event.len) {
    const [field, type] = event.tag();
    if (field === EventSchema.field.eventId.number) return event.string();
    event.skip(type);
  }
  return "";
}

/**
 * One subscriber, through @grpc/grpc-js, asking for batches of the server's cap
 * (MAX_EVENTS_PER_ITEM) and reading only what it needs of each response (decoding each event would
 * cost the shared cores more than the server's part): records when each event of a batch arrives,
 * and reopens from its cursor when the server ends the stream or the call fails.
 */
class BenchTail {
  readonly arrivals = new Map<string, number>();
  slowEnds = 0;
  failures = 0;
  readonly opened: Promise<void>;
  readonly #client: grpc.Client;
  readonly #tenantId: string;
  #cursor = "";
  #onOpen: () => void = () => {};

  constructor(address: string, tenantId: string) {
    this.#client = new grpc.Client(address, grpc.credentials.createInsecure(), {
      "grpc-node.flow_control_window": RECEIVE_WINDOW_BYTES,
    });
    this.#tenantId = tenantId;
    this.opened = new Promise((resolve) => {
      this.#onOpen = resolve;
    });
    this.#follow();
  }

  #follow(): void {
    const request = create(TailEventsRequestSchema, {
      filter: { tenantId: this.#tenantId },
      cursor: this.#cursor,
      maxEventsPerMessage: MAX_EVENTS_PER_ITEM,
    });
    const call = this.#client.makeServerStreamRequest(
      "/chaukas.backend.v1.TailService/TailEvents",
      (r: typeof request) => Buffer.from(toBinary(TailEventsRequestSchema, r)),
      lightResponse,
      request,
    );
    call.on("data", (res: LightResponse) => {
      this.#cursor = res.cursor;
      if (res.item === "events") {
        const now = sharedClockMs();
        for (const id of res.eventIds) this.arrivals.set(id, now);
      } else if (res.item === "heartbeat") this.#onOpen();
      else if (res.item === "end") this.slowEnds++;
    });
    call.on("error", () => this.failures++);
    // The tails live as long as their worker: TailClients.close() ends it.
    call.on("status", () => setImmediate(() => this.#follow()));
  }
}

/** The worker: opens the tails, says so, then answers TailClients' requests in order. */
async function serveTails(port: NonNullable<typeof parentPort>, setup: TailSetup): Promise<void> {
  const tails = Array.from({ length: setup.count }, () => new BenchTail(setup.address, setup.tenantId));
  await Promise.all(tails.map((t) => t.opened));
  port.postMessage("open");
  const has = (ids: string[]) => tails.every((t) => ids.every((id) => t.arrivals.has(id)));
  port.on("message", async (request: TailQuestion) => {
    switch (request.kind) {
      case "waitFor": {
        const deadline = Date.now() + request.timeoutMs;
        while (Date.now() < deadline && !has(request.ids)) await sleep(50);
        return port.postMessage(undefined);
      }
      case "arrivals":
        return port.postMessage(tails.map((t) => request.ids.map((id) => t.arrivals.get(id))));
      case "clear":
        for (const t of tails) t.arrivals.clear();
        return port.postMessage(undefined);
      case "counts":
        return port.postMessage({
          slowEnds: tails.reduce((n, t) => n + t.slowEnds, 0),
          failures: tails.reduce((n, t) => n + t.failures, 0),
        });
    }
  });
}

// Run as the worker: TailClients.open passes the setup under this key.
const setup: TailSetup | undefined = workerData?.benchTails;
if (parentPort && setup) void serveTails(parentPort, setup);
