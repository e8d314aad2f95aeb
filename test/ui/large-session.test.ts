import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { type Event, EventStatus, EventType } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import { ChaukasServerService } from "../../gen/chaukas/spec/server/v1/server_pb.ts";
import { UI_OUT_DIR } from "../../ui/build.ts";
import { makeEvent } from "../support/events.ts";
import { startTestServer, type TestServer } from "../support/server.ts";
import { launchChromium, watchedPage } from "./browser.ts";

/** A 20,000-event session opens and scrolls with a bounded DOM: the waterfall is virtualised. */

const EVENTS = 20_000;
const START_MS = Date.now() - 3_600_000;

/** One session: its root span, then agents, each with tool calls (START/END sharing a span id). */
function bigSession(): Event[] {
  const events: Event[] = [];
  const at = (i: number) => timestampFromMs(START_MS + i * 10);
  const add = (init: Parameters<typeof makeEvent>[0]) =>
    events.push(
      makeEvent({ tenantId: "acme", projectId: "web", sessionId: "big", timestamp: at(events.length), ...init }),
    );
  add({ type: EventType.SESSION_START, spanId: "root" });
  for (let agent = 0; events.length < EVENTS - 1; agent++) {
    add({ type: EventType.AGENT_START, spanId: `agent-${agent}`, parentSpanId: "root", agentName: `Agent ${agent}` });
    for (let call = 0; call < 40 && events.length < EVENTS - 2; call++) {
      const spanId = `tool-${agent}-${call}`;
      const content = { case: "toolCall" as const, value: { id: spanId, name: `tool_${call % 7}` } };
      add({ type: EventType.TOOL_CALL_START, spanId, parentSpanId: `agent-${agent}`, content });
      add({ type: EventType.TOOL_CALL_END, spanId, parentSpanId: `agent-${agent}`, status: EventStatus.COMPLETED });
    }
    if (events.length < EVENTS - 1) add({ type: EventType.AGENT_END, spanId: `agent-${agent}`, parentSpanId: "root" });
  }
  add({ type: EventType.SESSION_END, spanId: "root" });
  return events;
}

describe("a 20,000-event session in the browser", { timeout: 180_000 }, () => {
  let server: TestServer;
  let browser: Browser;
  beforeAll(async () => {
    server = await startTestServer("embedded", { ui: { dir: UI_OUT_DIR, transport: "connect" } });
    const ingest = createClient(
      ChaukasServerService,
      createConnectTransport({ baseUrl: server.baseUrl, httpVersion: "1.1" }),
    );
    const events = bigSession();
    expect(events).toHaveLength(EVENTS);
    for (let i = 0; i < events.length; i += 1000) {
      await ingest.ingestEventBatch({ eventBatch: { events: events.slice(i, i + 1000) } });
    }
    browser = await launchChromium();
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it("opens, scrolls to its end and moves by keyboard with a bounded number of rows in the DOM", async () => {
    const watched = await watchedPage(browser, server.baseUrl);
    const { page } = watched;
    onTestFailed(() => watched.screenshot("failed-large-session"));
    await page.goto(`${server.baseUrl}/sessions/big?tenant=acme&project=web`);
    // This server checks no keys: any key signs in.
    await page.getByLabel("API key").fill("any");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator(".fact", { hasText: "Events" }).getByText("20,000", { exact: true }).waitFor();

    const grid = page.getByRole("grid", { name: "Waterfall" });
    // One row per span: the session, its agents and their tool calls (each START/END pair one row).
    const rowCount = Number(await grid.getAttribute("aria-rowcount"));
    expect(rowCount).toBe(1 + (EVENTS - 2) / 2);
    const rendered = () => grid.locator(".vrow").count();
    expect(await rendered()).toBeLessThan(100);
    await watched.screenshot("large-session-top");

    await grid.locator(".vlist-viewport").evaluate((viewport) => {
      viewport.scrollTop = viewport.scrollHeight;
    });
    await grid.locator(`.vrow[aria-rowindex="${rowCount}"]`).waitFor();
    expect(await rendered()).toBeLessThan(100);
    await watched.screenshot("large-session-end");

    // Keyboard: Home selects the first row (the session), End the last; the URL follows the selection.
    const detail = page.getByRole("complementary", { name: "Event" });
    await grid.focus();
    await page.keyboard.press("Home");
    await grid.locator('.vrow[aria-rowindex="1"][aria-selected="true"]').waitFor();
    await detail.getByText("SESSION_END").waitFor();
    await page.keyboard.press("End");
    await grid.locator(`.vrow[aria-rowindex="${rowCount}"][aria-selected="true"]`).waitFor();
    await detail.getByText("TOOL_CALL_END").waitFor();
    expect(new URL(page.url()).searchParams.get("event")).toMatch(/^evt-/);
    expect(await rendered()).toBeLessThan(100);
    expect(watched.problems).toEqual([]);
  });
});
