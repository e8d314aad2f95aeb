import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { pino } from "pino";
import { expect, test } from "vitest";
import { ChaukasServerService } from "../../gen/chaukas/spec/server/v1/server_pb.ts";
import { buildServer } from "../../src/api/server.ts";
import { eventService } from "../../src/app.ts";
import { KeyAuthenticator } from "../../src/core/authenticator.ts";
import { createApiKey } from "../../src/core/key-admin.ts";
import { testAuditTrail } from "../support/audit.ts";
import { openTestStore } from "../support/databases.ts";
import { makeEvent } from "../support/events.ts";
import { TEST_SERVER_OPTIONS } from "../support/server.ts";

test("no key secret reaches the logs, at the most verbose level, whatever the request's fate", async () => {
  const opened = await openTestStore("embedded");
  const good = await createApiKey(opened.store.keys, { tenantId: "acme", role: "ingest", projects: [] });
  const revoked = await createApiKey(opened.store.keys, { tenantId: "acme", role: "admin", projects: [] });
  await opened.store.keys.revokeKey(revoked.key.id);
  const unknown = `chk_abcdefghijkm_${randomBytes(32).toString("base64url")}`;
  let logged = "";
  const logger = pino(
    { level: "trace" },
    {
      write: (line: string) => {
        logged += line;
      },
    },
  );
  const events = eventService(opened.store, { rbac: true });
  const app = await buildServer(events, {
    ...TEST_SERVER_OPTIONS,
    audit: testAuditTrail(opened.store),
    authenticator: new KeyAuthenticator(opened.store.keys, undefined, () => {}),
    logger,
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  try {
    for (const transport of [
      createGrpcTransport({ baseUrl }),
      createGrpcWebTransport({ baseUrl, httpVersion: "1.1" }),
      createConnectTransport({ baseUrl, httpVersion: "1.1" }),
    ]) {
      const client = createClient(ChaukasServerService, transport);
      for (const secret of [good.secret, revoked.secret, unknown]) {
        const headers = { authorization: `Bearer ${secret}`, "x-api-key": secret };
        await client.ingestEvent({ event: makeEvent() }, { headers }).catch(() => {});
        await client.ingestEvent({ event: makeEvent({ tenantId: "other" }) }, { headers }).catch(() => {});
        await client.queryEvents({ query: { filter: { tenantId: "acme" } } }, { headers }).catch(() => {});
        await client
          .ingestEventBatch({ eventBatch: { events: [makeEvent({ eventId: "" })] } }, { headers })
          .catch(() => {});
      }
    }
    for (const secret of [good.secret, revoked.secret, unknown]) {
      await fetch(`${baseUrl}/v1/query`, {
        method: "POST",
        headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
        body: "{not json",
      });
      await fetch(`${baseUrl}/events`, { method: "POST", headers: { "x-api-key": secret }, body: "" });
    }
  } finally {
    await app.close();
    await opened.close();
  }
  expect(logged.split("\n").length).toBeGreaterThan(40);
  expect(logged).toContain(`"code":"unauthenticated"`);
  for (const secret of [good.secret, revoked.secret, unknown]) {
    expect(logged).not.toContain(secret.slice(17)); // the secret part, after chk_ and the public id
  }
});
