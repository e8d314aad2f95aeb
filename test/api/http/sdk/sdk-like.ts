import { randomBytes } from "node:crypto";
import http from "node:http";
import { create, toBinary } from "@bufbuild/protobuf";
import { TimestampSchema, timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  IngestEventBatchRequestSchema,
  IngestEventRequestSchema,
} from "../../../../gen/chaukas/spec/client/v1/client_pb.ts";
import {
  Author,
  type Event,
  EventStatus,
  EventType,
  Severity,
} from "../../../../gen/chaukas/spec/common/v1/events_pb.ts";
import { SDK_HEADERS } from "../../../../kit/sdk-headers.ts";
import { EVERY_CONTENT, fullEvent } from "../../../support/events.ts";
import { QueryClient } from "../../../support/query-client.ts";
import { startTestServer } from "../../../support/server.ts";

/**
 * Requests built as the Python SDK (chaukas-sdk 0.1.0) builds them: UUIDv7 ids, a span tree,
 * tenant and project on every event, binary protobuf bodies, and its exact headers.
 */

export const TENANT = "sdk-tenant";
export const PROJECT = "sdk-project";

let lastMs = 0;
let sequence = 0;

/** A UUIDv7 string: 48-bit milliseconds, version 7, 12 bits of sequence, variant 10, random. */
export function uuid7(): string {
  const now = Date.now();
  sequence = now === lastMs ? sequence + 1 : 0;
  lastMs = now;
  const bytes = randomBytes(16);
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = 0x70 | ((sequence >> 8) & 0x0f);
  bytes[7] = sequence & 0xff;
  bytes[8] = 0x80 | (bytes[8] & 0x3f);
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export const UUID7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/**
 * One session as the SDK reports it: a SESSION_START whose span is the root, then `n - 1` events
 * cycling through every content kind, each with its own span pointing at the root span, in time order.
 */
export function sdkSession(n: number, startMs = Date.UTC(2026, 0, 15, 9, 30)): Event[] {
  const sessionId = uuid7();
  const traceId = uuid7();
  const rootSpan = uuid7();
  return Array.from({ length: n }, (_, i) => {
    const event = i === 0 ? fullEvent(undefined) : fullEvent(EVERY_CONTENT[(i - 1) % EVERY_CONTENT.length]);
    Object.assign(event, {
      eventId: uuid7(),
      tenantId: TENANT,
      projectId: PROJECT,
      sessionId,
      traceId,
      spanId: i === 0 ? rootSpan : uuid7(),
      parentSpanId: i === 0 ? "" : rootSpan,
      type: i === 0 ? EventType.SESSION_START : EventType.AGENT_START,
      status: EventStatus.STARTED,
      severity: Severity.INFO,
      author: Author.AGENT,
      // Microsecond precision, as Python's datetime gives.
      timestamp: create(TimestampSchema, {
        seconds: BigInt(Math.floor((startMs + i) / 1000)),
        nanos: ((startMs + i) % 1000) * 1_000_000 + 456_000,
      }),
    });
    return event;
  });
}

/** The body of `POST {endpoint}/events`. */
export function eventRequestBytes(event: Event): Uint8Array {
  return toBinary(IngestEventRequestSchema, create(IngestEventRequestSchema, { event }));
}

/** The body of `POST {endpoint}/events/batch`: a UUIDv7 batch id and the batch's timestamp. */
export function batchRequestBytes(events: Event[], batchId = uuid7()): Uint8Array {
  return toBinary(
    IngestEventBatchRequestSchema,
    create(IngestEventBatchRequestSchema, {
      eventBatch: { batchId, timestamp: timestampFromMs(Date.now()), events },
    }),
  );
}

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/** POSTs with node:http, keep-alive like httpx; `close` ends the pooled connections. */
export class SdkHttp {
  readonly #baseUrl: string;
  readonly #agent = new http.Agent({ keepAlive: true });

  constructor(baseUrl: string) {
    this.#baseUrl = baseUrl;
  }

  post(path: string, body: Uint8Array | string, headers: Record<string, string> = SDK_HEADERS): Promise<HttpAnswer> {
    const payload = typeof body === "string" ? Buffer.from(body) : body;
    return new Promise((resolve, reject) => {
      const request = http.request(
        `${this.#baseUrl}${path}`,
        {
          method: "POST",
          agent: this.#agent,
          headers: { ...headers, "content-length": String(payload.byteLength) },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("error", reject);
          response.on("end", () =>
            resolve({
              status: response.statusCode ?? 0,
              headers: response.headers,
              text: Buffer.concat(chunks).toString("utf8"),
            }),
          );
        },
      );
      request.on("error", reject);
      request.end(payload);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}

/** A test server with the SDK's HTTP client and a query client on it; `close` closes all three. */
export async function startSdkTestServer(...args: Parameters<typeof startTestServer>) {
  const server = await startTestServer(...args);
  const sdk = new SdkHttp(server.baseUrl);
  const query = new QueryClient(server.baseUrl);
  const close = async () => {
    sdk.close();
    query.close();
    await server.close();
  };
  return { server, sdk, query, close };
}
