import { randomUUID } from "node:crypto";
import { type Client, Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { expect } from "vitest";
import { ChaukasClientService } from "../../../gen/chaukas/spec/client/v1/client_pb.ts";
import type { Event } from "../../../gen/chaukas/spec/common/v1/events_pb.ts";
import { SortOrder } from "../../../gen/chaukas/spec/common/v1/query_pb.ts";
import { ChaukasServerService } from "../../../gen/chaukas/spec/server/v1/server_pb.ts";
import { makeEvent } from "../../support/events.ts";

/** Both spec services: they share every use case, so every bad input must be handled alike. */
export const SERVICES = [ChaukasServerService, ChaukasClientService] as const;
export type SpecService = (typeof SERVICES)[number];
export type SpecClient = Client<typeof ChaukasServerService> | Client<typeof ChaukasClientService>;

/** A Connect client over HTTP/1.1, binary or JSON. */
export function connectClient(service: SpecService, baseUrl: string, format: "binary" | "json" = "binary"): SpecClient {
  const transport = createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: format === "binary" });
  return createClient(service, transport) as SpecClient;
}

export interface RawAnswer {
  status: number;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: { code?: string; message?: string } | undefined;
}

/** POSTs `body` as is to `/<service>/<method>`: the way to send what no client would. */
export async function postRaw(
  baseUrl: string,
  service: SpecService,
  method: string,
  body: string | Uint8Array,
  contentType: string,
): Promise<RawAnswer> {
  const res = await fetch(`${baseUrl}/${service.typeName}/${method}`, {
    method: "POST",
    headers: { "content-type": contentType },
    body,
  });
  const text = await res.text();
  let json: RawAnswer["json"];
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json };
}

/** Runs `call` and returns the ConnectError it must fail with. */
export async function connectErrorOf(call: () => Promise<unknown>): Promise<ConnectError> {
  try {
    await call();
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("the call succeeded but was expected to fail");
}

/** The call must fail with invalid_argument, its message naming every field given. */
export async function expectInvalidArgument(call: () => Promise<unknown>, ...fields: string[]): Promise<void> {
  const err = await connectErrorOf(call);
  expect(Code[err.code]).toBe(Code[Code.InvalidArgument]);
  for (const field of fields) expect(err.rawMessage).toContain(`${field}:`);
}

/** A new session id, so a test can find exactly the events it stored. */
export const newSession = () => `session-${randomUUID()}`;

/** The events stored for one session of tenant acme, oldest first. */
export async function storedEvents(client: SpecClient, sessionId: string): Promise<Event[]> {
  const res = await client.queryEvents({
    query: { filter: { tenantId: "acme", sessionId }, pageSize: 1000, orderByTime: SortOrder.ASC },
  });
  return res.response?.events ?? [];
}

/** A valid event goes in and can be read back: the server still serves after whatever came before. */
export async function expectStillServing(client: SpecClient): Promise<void> {
  const sessionId = newSession();
  const event = makeEvent({ sessionId });
  await client.ingestEvent({ event });
  expect((await storedEvents(client, sessionId)).map((e) => e.eventId)).toEqual([event.eventId]);
}
