import { equals, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { TailEnd_Reason, TailEventsResponseSchema } from "../../gen/chaukas/backend/v1/tail_pb.ts";
import { type Event, EventSchema, EventType } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import { MAX_BYTES_PER_ITEM, MAX_EVENTS_PER_ITEM } from "../../src/core/tail/tail-hub.ts";
import { storeKinds } from "../support/databases.ts";
import { makeEvent } from "../support/events.ts";
import { TailReader } from "./tail-reader.ts";
import { ingestClient, startTailServer, type TailServer, tailClient } from "./tail-server.ts";

const WRITERS = 5;
const BATCHES_PER_WRITER = 8;
const EVENTS_PER_BATCH = 5;
const TOTAL = WRITERS * BATCHES_PER_WRITER * EVENTS_PER_BATCH;

describe.each(await storeKinds())("the live tail (%s)", (kind) => {
  let server: TailServer;
  // Heartbeats every 200 ms after the first, which a stream sends as it opens.
  beforeAll(async () => {
    server = await startTailServer(kind, { heartbeatMs: 200 });
  });
  afterAll(() => server?.close());

  const transports = () => ({
    connect: tailClient(createConnectTransport({ baseUrl: server.baseUrl, httpVersion: "2" })),
    connectJson: tailClient(
      createConnectTransport({ baseUrl: server.baseUrl, httpVersion: "1.1", useBinaryFormat: false }),
    ),
    grpc: tailClient(createGrpcTransport({ baseUrl: server.baseUrl })),
    grpcWeb: tailClient(createGrpcWebTransport({ baseUrl: server.baseUrl, httpVersion: "1.1" })),
  });

  /** Every event written, by id. */
  const sent = new Map<string, Event>();
  /** Writes `count` events of acme in one batch (one transaction); returns their ids in order. */
  const write = async (count: number, init: Parameters<typeof makeEvent>[0] = {}) => {
    const events = Array.from({ length: count }, () => makeEvent({ tenantId: "acme", ...init }));
    for (const event of events) sent.set(event.eventId, event);
    const res = await ingestClient(server.baseUrl).ingestEventBatch(
      { eventBatch: { events } },
      { headers: server.keys.admin },
    );
    expect(res.acceptedCount).toBe(count);
    return events.map((e) => e.eventId);
  };

  test("delivers every event once, in one order, over Connect, gRPC and gRPC-Web, with 5 writers at once; a filter and a cursor hold", async () => {
    const clients = transports();
    const tails = [
      new TailReader(clients.connect, server.keys.read, { tenantId: "acme" }),
      new TailReader(clients.grpc, server.keys.admin, {}),
      new TailReader(clients.grpcWeb, server.keys.read, { tenantId: "acme" }),
    ];
    const webOnly = new TailReader(clients.connectJson, server.keys.readWeb, {
      tenantId: "",
      types: [EventType.TOOL_CALL_START],
    });
    for (const tail of [...tails, webOnly]) expect((await tail.until("heartbeat"))?.cursor).not.toBe("");

    const written = await Promise.all(
      Array.from({ length: WRITERS }, async (_, w) => {
        const project = w % 2 === 0 ? "web" : "mobile";
        const batches: string[][] = [];
        for (let b = 0; b < BATCHES_PER_WRITER; b++) {
          batches.push(await write(EVENTS_PER_BATCH, { projectId: project, type: EventType.TOOL_CALL_START }));
        }
        return { project, batches, ids: batches.flat() };
      }),
    );
    const all = written.flatMap((w) => w.ids);
    const web = new Set(written.filter((w) => w.project === "web").flatMap((w) => w.ids));

    const seen = await Promise.all(tails.map((tail) => tail.events(TOTAL)));
    expect(new Set(seen[0]).size).toBe(TOTAL);
    expect([...seen[0]].sort()).toEqual([...all].sort());
    // One order for every tail, whatever its protocol.
    expect(seen[1]).toEqual(seen[0]);
    expect(seen[2]).toEqual(seen[0]);
    // Each writer's batches (transactions) arrive in the order it wrote them, each batch's events together.
    for (const { ids, batches } of written) {
      const batchOf = seen[0].filter((id) => ids.includes(id)).map((id) => batches.findIndex((b) => b.includes(id)));
      expect(batchOf).toEqual(batches.flatMap((batch, i) => batch.map(() => i)));
    }
    // The same events QueryEvents finds.
    const queried = await ingestClient(server.baseUrl).queryEvents(
      { query: { filter: { tenantId: "acme" }, pageSize: 1000 } },
      { headers: server.keys.read },
    );
    const queriedIds = queried.response?.events.map((e) => e.eventId) ?? [];
    expect(queriedIds.filter((id) => all.includes(id)).sort()).toEqual([...all].sort());

    // A key limited to project web sees web's events only, in the same order; in JSON as in binary.
    expect(await webOnly.events(web.size)).toEqual(seen[0].filter((id) => web.has(id)));
    // Each event as it was written, in binary (the stored bytes spliced in) as in JSON.
    for (const tail of [tails[0], webOnly]) {
      for (const { item } of tail.responses) {
        if (item.case === "event")
          expect(equals(EventSchema, item.value, sent.get(item.value.eventId) as Event)).toBe(true);
      }
    }

    // A cursor resumes exactly after its event: from the 37th on, the rest in the same order.
    const at = tails[0].responses.filter((r) => r.item.case === "event")[36].cursor;
    const resumed = new TailReader(clients.grpc, server.keys.read, { tenantId: "acme" }, at);
    expect(await resumed.events(TOTAL - 37)).toEqual(seen[0].slice(37));
    for (const tail of [...tails, webOnly, resumed]) tail.cancel();
  });

  test("refuses what QueryEvents refuses: another tenant, a project outside the key's, an ingest key, no key, a bad cursor", async () => {
    const { connect } = transports();
    const codeOf = async (headers: Headers, filter: object, cursor = "") => {
      try {
        await new TailReader(connect, headers, filter, cursor).next();
      } catch (err) {
        return ConnectError.from(err).code;
      }
      return undefined;
    };
    expect(await codeOf(server.keys.read, { tenantId: "globex" })).toBe(Code.PermissionDenied);
    expect(await codeOf(server.keys.otherTenant, { tenantId: "acme" })).toBe(Code.PermissionDenied);
    expect(await codeOf(server.keys.readWeb, { tenantId: "acme", projectId: "mobile" })).toBe(Code.PermissionDenied);
    expect(await codeOf(server.keys.ingest, { tenantId: "acme" })).toBe(Code.PermissionDenied);
    expect(await codeOf(new Headers(), { tenantId: "acme" })).toBe(Code.Unauthenticated);
    expect(await codeOf(server.keys.read, { tenantId: "acme" }, "not a cursor")).toBe(Code.InvalidArgument);
    expect(await codeOf(server.keys.read, { tenantId: "acme" }, "AgAAAAAAAAAA")).toBe(Code.InvalidArgument);
    // Version 1 and an event id of NUL bytes: no event id holds one, and the database cannot.
    const nulId = Buffer.concat([Buffer.from([1]), Buffer.alloc(8), Buffer.from("\0\0\0")]).toString("base64url");
    expect(await codeOf(server.keys.read, { tenantId: "acme" }, nulId)).toBe(Code.InvalidArgument);
    expect(await codeOf(server.keys.read, { tenantId: "acme", sessionId: "a\0b" })).toBe(Code.InvalidArgument);
  });

  test("a stream with nothing to send sends heartbeats, while its tenant is busy too, whose cursor resumes it", async () => {
    const { connect } = transports();
    const idle = new TailReader(connect, server.keys.read, { tenantId: "acme", sessionId: "idle-session" });
    await idle.until("heartbeat");
    // Other sessions' events keep the tenant's poller reading meanwhile.
    let busy = true;
    const writing = (async () => {
      while (busy) await write(1, { sessionId: "busy-session" });
    })();
    await idle.until("heartbeat");
    const second = await idle.until("heartbeat");
    busy = false;
    await writing;
    idle.cancel();
    const [id] = await write(1, { sessionId: "idle-session" });
    const resumed = new TailReader(connect, server.keys.read, { sessionId: "idle-session" }, second?.cursor);
    expect(await resumed.events(1)).toEqual([id]);
    resumed.cancel();
  });
});

describe.each(await storeKinds())("the live tail in batches (%s)", (kind) => {
  let server: TailServer;
  // A buffer that holds the whole burst: these tests read batches, not slow-subscriber ends.
  beforeAll(async () => {
    server = await startTailServer(kind, { heartbeatMs: 200, bufferEvents: 5000 });
  });
  afterAll(() => server?.close());

  const clients = () => ({
    connectJson: tailClient(
      createConnectTransport({ baseUrl: server.baseUrl, httpVersion: "1.1", useBinaryFormat: false }),
    ),
    connect: tailClient(createConnectTransport({ baseUrl: server.baseUrl, httpVersion: "2" })),
    grpcWeb: tailClient(createGrpcWebTransport({ baseUrl: server.baseUrl, httpVersion: "1.1" })),
    grpc: tailClient(createGrpcTransport({ baseUrl: server.baseUrl })),
  });
  const batches = (tail: TailReader) =>
    tail.responses.flatMap(({ item }) => (item.case === "events" ? [item.value.events] : []));
  const batchSizes = (tail: TailReader) => batches(tail).map((events) => events.length);
  const encodedBytes = (events: Event[]) => events.reduce((n, e) => n + toBinary(EventSchema, e).byteLength, 0);
  /** About 1 KiB encoded: a burst of these fills batches to the byte cap before the event cap. */
  const large = { agentName: "x".repeat(1000) };

  test("over Connect JSON, Connect, gRPC-Web and gRPC: every event once, in order, at most 500 events and 60 KiB a response; a batch's cursor resumes right after it; 0 asks for single events", {
    timeout: 60_000,
  }, async () => {
    const filter = { tenantId: "acme", sessionId: `batched-${kind}` };
    const sent = new Map<string, Event>();
    const write = async (count: number, init = {}) => {
      const events = Array.from({ length: count }, () =>
        makeEvent({ tenantId: "acme", sessionId: filter.sessionId, ...init }),
      );
      for (const event of events) sent.set(event.eventId, event);
      await ingestClient(server.baseUrl).ingestEventBatch({ eventBatch: { events } }, { headers: server.keys.admin });
      // One transaction: its events come together, in bytewise event_id order.
      return events.map((e) => e.eventId).sort();
    };
    const protocols = Object.entries(clients());
    const batched = protocols.map(([, client]) => new TailReader(client, server.keys.read, filter, "", 10_000));
    const single = new TailReader(clients().connect, server.keys.read, filter);
    for (const tail of [...batched, single]) await tail.until("heartbeat");

    const expected = [...(await write(1200)), ...(await write(30)), ...(await write(30)), ...(await write(300, large))];
    for (const [i, tail] of batched.entries()) {
      expect(await tail.events(expected.length), protocols[i][0]).toEqual(expected);
      // Asked for 10,000: the server's caps, the event cap reached by the burst of 1,200 small
      // events, the byte cap by the burst of large ones (within one large event of it). Each
      // response encodes to at most 64 KiB, so the buffers it is written through stay under
      // glibc's mapping threshold (ADR 0034).
      for (const events of batches(tail)) {
        expect(events.length, protocols[i][0]).toBeLessThanOrEqual(MAX_EVENTS_PER_ITEM);
        expect(encodedBytes(events), protocols[i][0]).toBeLessThanOrEqual(MAX_BYTES_PER_ITEM);
      }
      for (const response of tail.responses) {
        expect(toBinary(TailEventsResponseSchema, response).byteLength, protocols[i][0]).toBeLessThanOrEqual(64 << 10);
      }
      expect(Math.max(...batchSizes(tail)), protocols[i][0]).toBe(MAX_EVENTS_PER_ITEM);
      const largeBytes = encodedBytes([sent.get(expected[expected.length - 1]) as Event]);
      expect(Math.max(...batches(tail).map(encodedBytes)), protocols[i][0]).toBeGreaterThan(
        MAX_BYTES_PER_ITEM - largeBytes,
      );
      expect(Math.min(...batchSizes(tail))).toBeGreaterThan(0);
      expect(tail.responses.some(({ item }) => item.case === "event")).toBe(false);
    }
    expect(await single.events(expected.length)).toEqual(expected);
    expect(batchSizes(single)).toEqual([]);
    // Each event as it was written, in JSON (decoded) as in binary (the stored bytes spliced in).
    for (const tail of batched) {
      for (const { item } of tail.responses) {
        for (const event of item.case === "events" ? item.value.events : []) {
          expect(equals(EventSchema, event, sent.get(event.eventId) as Event)).toBe(true);
        }
      }
    }

    // From the second batch's cursor, on the same protocol: the rest, each once, in order.
    for (const [i, tail] of batched.entries()) {
      const sizes = batchSizes(tail);
      const at = tail.responses.filter(({ item }) => item.case === "events")[1].cursor;
      const after = sizes[0] + sizes[1];
      const resumed = new TailReader(protocols[i][1], server.keys.read, filter, at, 10_000);
      expect(await resumed.events(expected.length - after), protocols[i][0]).toEqual(expected.slice(after));
      resumed.cancel();
    }
    for (const tail of [...batched, single]) tail.cancel();
  });
});

describe.each(await storeKinds())("the live tail's bounds (%s)", (kind) => {
  let server: TailServer;
  beforeAll(async () => {
    server = await startTailServer(kind, { heartbeatMs: 200, bufferEvents: 5, maxStreamMs: 3000, maxTailsPerKey: 2 });
  });
  afterAll(() => server?.close());

  const client = () => tailClient(createConnectTransport({ baseUrl: server.baseUrl, httpVersion: "2" }));

  test.each([0, 10_000])(
    "a subscriber too slow for its buffer is ended with a cursor that resumes with nothing lost (max_events_per_message %i)",
    async (maxEventsPerMessage) => {
      const filter = { tenantId: "acme", sessionId: `burst-${maxEventsPerMessage}` };
      const open = (cursor = "") => new TailReader(client(), server.keys.read, filter, cursor, maxEventsPerMessage);
      const first = open();
      await first.until("heartbeat");
      const events = Array.from({ length: 23 }, () => makeEvent({ tenantId: "acme", sessionId: filter.sessionId }));
      await ingestClient(server.baseUrl).ingestEventBatch({ eventBatch: { events } }, { headers: server.keys.admin });
      const ids: string[] = [];
      const reasons: number[] = [];
      let tail = first;
      for (;;) {
        const end = await tail.until("end");
        ids.push(...tail.eventIds);
        if (end?.item.case !== "end" || end.item.value.reason !== TailEnd_Reason.SLOW_SUBSCRIBER) break;
        reasons.push(end.item.value.reason);
        if (ids.length === events.length) break;
        tail = open(end.cursor);
      }
      expect(reasons[0]).toBe(TailEnd_Reason.SLOW_SUBSCRIBER);
      expect(ids).toEqual(events.map((e) => e.eventId).sort());
      // The buffer's 5 events went out in one batch before the end, or one a response.
      const eventItems = first.responses.filter(({ item }) => item.case === "event" || item.case === "events");
      expect(eventItems.map(({ item }) => item.case)).toEqual(
        maxEventsPerMessage === 0 ? Array(5).fill("event") : ["events"],
      );
    },
  );

  test("a stream ends itself at the time limit, with a cursor that resumes it", async () => {
    const filter = { tenantId: "acme", sessionId: "limited" };
    const tail = new TailReader(client(), server.keys.read, filter);
    const end = await tail.until("end");
    expect(end?.item.case === "end" && end.item.value.reason).toBe(TailEnd_Reason.TIME_LIMIT);
    const event = makeEvent({ tenantId: "acme", sessionId: "limited" });
    await ingestClient(server.baseUrl).ingestEvent({ event }, { headers: server.keys.admin });
    const resumed = new TailReader(client(), server.keys.read, filter, end?.cursor);
    expect(await resumed.events(1)).toEqual([event.eventId]);
    resumed.cancel();
  });

  test("a key holds at most its number of open tails (resource_exhausted past it)", async () => {
    const open = [1, 2].map(() => new TailReader(client(), server.keys.readWeb, {}));
    for (const tail of open) await tail.until("heartbeat");
    const third = new TailReader(client(), server.keys.readWeb, {});
    await expect(third.next()).rejects.toMatchObject({ code: Code.ResourceExhausted });
    // Another key is not counted with it.
    const other = new TailReader(client(), server.keys.read, { tenantId: "acme" });
    expect((await other.until("heartbeat"))?.item.case).toBe("heartbeat");
    other.cancel();
    open[0].cancel();
    // A closed stream frees its place once the server sees the cancel.
    for (;;) {
      const again = new TailReader(client(), server.keys.readWeb, {});
      const item = await again.next().catch((err) => ConnectError.from(err));
      if (item instanceof ConnectError) continue;
      expect(item?.item.case).toBe("heartbeat");
      again.cancel();
      break;
    }
    open[1].cancel();
  });
});

describe("the first item of a tail", () => {
  let server: TailServer;
  // The server's own heartbeat interval (15 s): the first item must not wait for it.
  beforeAll(async () => {
    server = await startTailServer("embedded");
  });
  afterAll(() => server?.close());

  test("comes as the stream opens, a heartbeat whose cursor resumes right after the open", {
    timeout: 10_000,
  }, async () => {
    const client = tailClient(createConnectTransport({ baseUrl: server.baseUrl, httpVersion: "2" }));
    const opened = new TailReader(client, server.keys.read, { tenantId: "acme" });
    const first = await opened.next();
    expect(first?.item.case).toBe("heartbeat");
    opened.cancel();
    const event = makeEvent({ tenantId: "acme" });
    await ingestClient(server.baseUrl).ingestEvent({ event }, { headers: server.keys.admin });
    const resumed = new TailReader(client, server.keys.read, { tenantId: "acme" }, first?.cursor);
    expect(await resumed.events(1)).toEqual([event.eventId]);
    resumed.cancel();
  });
});
