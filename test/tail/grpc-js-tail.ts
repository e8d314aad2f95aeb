import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

/**
 * TailService through a standard gRPC client (@grpc/grpc-js), built from the .proto at run time
 * as a third-party user would: proto field names, enums as names, the set oneof case in `item`.
 */
const definition = protoLoader.loadSync(["chaukas/backend/v1/tail.proto"], {
  includeDirs: [fileURLToPath(new URL("../../proto", import.meta.url))],
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
});

// biome-ignore lint/suspicious/noExplicitAny: responses are plain objects shaped by the .proto at run time.
export type PlainResponse = Record<string, any>;

/** One open tail: its responses so far, and a way to wait for more. */
export class GrpcJsTail {
  readonly responses: PlainResponse[] = [];
  ended = false;
  error: grpc.ServiceError | undefined;
  readonly #client: grpc.Client;
  readonly #call: grpc.ClientReadableStream<PlainResponse>;
  #wake: () => void = () => {};

  constructor(address: string, request: object) {
    const Client = grpc.makeClientConstructor(
      definition["chaukas.backend.v1.TailService"] as grpc.ServiceDefinition,
      "chaukas.backend.v1.TailService",
    );
    this.#client = new Client(address, grpc.credentials.createInsecure());
    const method = (this.#client as unknown as Record<string, (r: object) => grpc.ClientReadableStream<PlainResponse>>)
      .tailEvents;
    this.#call = method.call(this.#client, request);
    this.#call.on("data", (response: PlainResponse) => {
      this.responses.push(response);
      this.#wake();
    });
    this.#call.on("error", (err: grpc.ServiceError) => {
      if (err.code !== grpc.status.CANCELLED) this.error = err;
      this.ended = true;
      this.#wake();
    });
    this.#call.on("end", () => {
      this.ended = true;
      this.#wake();
    });
  }

  /** The events' ids in order, whether they came one a response (`event`) or in batches (`events`). */
  get eventIds(): string[] {
    return this.responses.flatMap((r) =>
      r.item === "event"
        ? [r.event.event_id]
        : r.item === "events"
          ? r.events.events.map((e: PlainResponse) => e.event_id)
          : [],
    );
  }

  /** Waits until `check` holds of the responses, or the stream ends (then throws if it does not hold). */
  async until(check: (responses: PlainResponse[]) => boolean): Promise<void> {
    while (!check(this.responses)) {
      if (this.error) throw this.error;
      if (this.ended) throw new Error(`the tail ended first: ${JSON.stringify(this.responses.at(-1))}`);
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }

  close(): void {
    this.#call.cancel();
    this.#client.close();
  }
}
