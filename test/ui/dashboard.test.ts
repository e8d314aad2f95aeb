import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { type Event, EventStatus, EventType } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import { ChaukasServerService } from "../../gen/chaukas/spec/server/v1/server_pb.ts";
import { BIG_TENANT, DEFAULT_CORPUS, type Session, sessions } from "../../kit/corpus.ts";
import { isFailure } from "../../ui/src/waterfall/tree.ts";
import { storeKinds } from "../support/databases.ts";
import { launchChromium, type WatchedPage, watchedPage } from "./browser.ts";
import { type DashboardServer, startDashboardServer } from "./dashboard-server.ts";

/**
 * The dashboard in real Chromium against the server as `npm start` runs it, on both stores and
 * both of the page's transports: sessions stored by SDK-shaped batches, read with a read key.
 */

/** Sessions of the SDK-shaped corpus that started after `startMs` (within the last hour), all of one tenant. */
function recentSessions(count: number, startMs = Date.now() - 3_600_000, seed = DEFAULT_CORPUS.seed): Session[] {
  const corpus = sessions({
    ...DEFAULT_CORPUS,
    seed,
    tenants: 1,
    bigTenantShare: 1,
    startMs,
    spanDays: 0.02,
    expectedEvents: 50 * count,
  });
  return Array.from({ length: count }, () => corpus.next().value as Session);
}

// Each test drives a browser against a server process: generous bounds on a shared, busy machine.
describe.each(await storeKinds())("the dashboard on the %s store", { timeout: 120_000 }, (kind) => {
  const transport = kind === "embedded" ? "connect" : "grpc-web";
  let server: DashboardServer;
  let browser: Browser;
  const stored = recentSessions(4);
  // The session the waterfall tests open: the one with the most kinds of rows, an error among them.
  const shown = stored.find((session) => session.events.some((event) => event.type === EventType.ERROR)) ?? stored[0];
  // Ended FAILED, as an SDK ends a session that failed: its root row is failed, yet not the first failure.
  for (const event of shown.events) if (event.type === EventType.SESSION_END) event.status = EventStatus.FAILED;
  // Out of the default range of the last 24 hours, in "All time"'s; of another seed, so its words
  // (order ids) are not those of a recent session a search looks for.
  const [old] = recentSessions(1, Date.now() - 3 * 86_400_000, 7);
  // Running, with one event so far: a session of no length.
  const [started] = recentSessions(1).map((session) => ({ ...session, events: session.events.slice(0, 1) }));

  beforeAll(async () => {
    server = await startDashboardServer(kind, BIG_TENANT, ["--ui-transport", transport]);
    browser = await launchChromium();
    for (const session of [...stored, old, started]) await server.ingest(session.events);
    await untilSealed(
      server,
      [...stored, old, started].reduce((n, session) => n + session.events.length, 0),
    );
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function open(path: string, colorScheme?: "light" | "dark"): Promise<WatchedPage> {
    const watched = await watchedPage(browser, server.baseUrl, { colorScheme });
    // A failing test leaves a screenshot of what the page showed.
    onTestFailed(async ({ task }) =>
      watched.screenshot(`failed-${kind}-${task.name.slice(0, 40).replace(/\W+/g, "-")}`),
    );
    await watched.page.goto(`${server.baseUrl}${path}`);
    return watched;
  }

  async function signIn(watched: WatchedPage, key = server.readKey): Promise<void> {
    await watched.page.getByLabel("API key").fill(key);
    await watched.page.getByRole("button", { name: "Sign in" }).click();
  }

  const sessionPath = (session: Session, extra = "") =>
    `/sessions/${encodeURIComponent(session.sessionId)}?tenant=${session.tenantId}&project=${session.projectId}${extra}`;

  it(`serves the page with --ui-transport ${transport}, and signs in with a read key only`, async () => {
    const watched = await open("/");
    const { page } = watched;
    expect(await page.locator('meta[name="chaukas-transport"]').getAttribute("content")).toBe(transport);
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    // The command it suggests for a key is one that runs: `keys create` needs a tenant.
    await expect(page.locator(".signin-card .command").textContent()).resolves.toBe(
      "npx chaukas keys create --tenant tenant --role read",
    );
    await watched.screenshot(`sign-in-${kind}`);
    await signIn(watched, "chk_not_a_real_key");
    await expect(page.getByRole("alert").textContent()).resolves.toContain("The API key was not accepted");
    // The refusal is an answer the page shows, not a failure of the page.
    watched.problems.splice(0, watched.problems.length, ...watched.problems.filter((p) => !p.includes("401")));
    await signIn(watched);
    await page.getByRole("link", { name: "Sessions" }).waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem("chaukas.apiKey"))).toBe(server.readKey);
    expect(watched.problems).toEqual([]);
  });

  it("opens a session's waterfall, an event's content, and its proof checked in the page", async () => {
    const watched = await open(sessionPath(shown));
    const { page } = watched;
    await signIn(watched);
    const waterfall = page.getByRole("grid", { name: "Waterfall" });
    // Every event read (the count stops showing "…" once the last page is in).
    await page
      .locator(".fact", { hasText: "Events" })
      .getByText(String(shown.events.length), { exact: true })
      .waitFor();
    // The session's span is the root; its agents, model and tool calls are rows beneath it.
    await expect(waterfall.locator(".vrow").first().textContent()).resolves.toContain("session");
    expect(await waterfall.locator(".kind-tag.kind-model").count()).toBeGreaterThan(0);
    await watched.screenshot(`session-${kind}`);

    // A model call: its request messages and response, then its proof, verified in this page.
    await waterfall
      .locator(".vrow", { has: page.locator(".kind-tag.kind-model") })
      .first()
      .click();
    const detail = page.getByRole("complementary", { name: "Event" });
    await detail.getByRole("heading", { name: "Model call" }).first().waitFor();
    await detail.getByText("Request", { exact: true }).first().waitFor();
    await detail
      .getByText(/Verified in checkpoint \d+/)
      .first()
      .waitFor();
    await expect(detail.textContent()).resolves.not.toContain("Not verified");
    await expect(detail.textContent()).resolves.toContain("The event shown hashes to its content hash");
    expect(page.url()).toContain("event=");
    await watched.screenshot(`event-model-call-${kind}`);

    // Rows fold: the first agent's button hides the rows under it, ← and → on a row do the same.
    const rowCount = async () => Number(await waterfall.getAttribute("aria-rowcount"));
    const all = await rowCount();
    const agent = waterfall.locator(".vrow", { has: page.locator(".kind-tag.kind-agent") }).first();
    await agent.getByRole("button", { name: /^Fold / }).click();
    await expect.poll(rowCount).toBeLessThan(all);
    await agent.getByRole("button", { name: /^Unfold / }).waitFor();
    await agent.click();
    await page.keyboard.press("ArrowRight");
    await expect.poll(rowCount).toBe(all);
    await page.keyboard.press("ArrowLeft");
    await expect.poll(rowCount).toBeLessThan(all);
    await watched.screenshot(`session-folded-${kind}`);

    // Errors are hard to miss: the facts bar leads to the first one, which shows its message,
    // unfolding the rows above it.
    // The first is the earliest failed event, not the session row that a failed SESSION_END marks too.
    const earliestFailed = shown.events.filter(isFailure).sort((a, b) => eventMs(a) - eventMs(b))[0];
    await page.getByRole("button", { name: /show first/ }).click();
    await detail.locator(".error-box").first().waitFor();
    await expect(detail.textContent()).resolves.toContain(earliestFailed.eventId);
    await expect(waterfall.locator('.vrow[aria-selected="true"] .kind-tag').textContent()).resolves.not.toBe("session");
    await watched.screenshot(`event-error-${kind}`);

    // The URL holds the selection: a reload (a shared link) opens the same event.
    const selected = new URL(page.url()).searchParams.get("event");
    await page.reload();
    await detail.locator(".event-card").first().waitFor();
    await expect(detail.textContent()).resolves.toContain(selected);
    expect(watched.problems).toEqual([]);
  });

  it("lists the sessions of a time range, filtered by the URL, and opens one", async () => {
    const watched = await open("/sessions");
    const { page } = watched;
    await signIn(watched);
    const list = page.getByRole("grid", { name: "Sessions" });
    for (const session of stored) await list.getByText(session.sessionId).waitFor();
    // The last 24 hours by default: the running session too, not the old one.
    await list.getByText(started.sessionId).waitFor();
    expect(Number(await list.getAttribute("aria-rowcount"))).toBe(stored.length + 1);
    const row = list.locator(".vrow", { hasText: shown.sessionId });
    await expect(row.locator(".error-count").textContent()).resolves.toMatch(/^[1-9]/);
    // Numbers' headers are right-aligned over them.
    for (const name of ["Duration", "Model calls", "Cost", "Failures"]) {
      const header = list.getByRole("columnheader", { name, exact: true });
      await expect(
        header.evaluate((cell) => cell.ownerDocument.defaultView?.getComputedStyle(cell).textAlign),
      ).resolves.toBe("right");
    }
    await watched.screenshot(`sessions-${kind}`);
    // At 800 px the last columns (cost, errors, status) stay on screen.
    await page.setViewportSize({ width: 800, height: 900 });
    const status = row.locator(".badge");
    expect((await status.boundingBox())?.x ?? 800).toBeLessThan(800 - 40);
    await watched.screenshot(`sessions-narrow-${kind}`);
    await page.setViewportSize({ width: 1440, height: 900 });

    // A filter typed in the bar goes to the URL; the URL alone gives the same view.
    const searched = stored.find((session) => session.orderIds.length > 0) ?? stored[0];
    const word = searched.orderIds[0] ?? searched.sessionId;
    await page.getByLabel("Search").fill(word);
    await page.getByLabel("Search").press("Enter");
    await page.waitForURL((url) => url.searchParams.get("q") === word);
    // The list shown before the search has rows too: wait for the searched list's single row.
    await list.and(page.locator('[aria-rowcount="1"]')).waitFor();
    await list.getByText(searched.sessionId).waitFor();
    const shared = await open(`/sessions?q=${encodeURIComponent(word)}&range=all`);
    await signIn(shared);
    await shared.page.getByRole("grid", { name: "Sessions" }).getByText(searched.sessionId).waitFor();
    await expect(shared.page.getByRole("grid", { name: "Sessions" }).getAttribute("aria-rowcount")).resolves.toBe("1");
    await expect(shared.page.getByLabel("Time").inputValue()).resolves.toBe("all");

    // Opening a session from the list.
    await list.getByText(searched.sessionId).click();
    await page.waitForURL((url) => url.pathname === `/sessions/${searched.sessionId}`);
    await page.getByRole("grid", { name: "Waterfall" }).locator(".vrow").first().waitFor();
    expect(watched.problems).toEqual([]);
    expect(shared.problems).toEqual([]);
  });

  it("shows statistics of the stored events, of all time under All time", async () => {
    const watched = await open("/stats?range=all");
    await signIn(watched);
    // The session of three days ago counts: "All time" is not the last 24 hours.
    const all = [...stored, old, started];
    const total = all.reduce((n, session) => n + session.events.length, 0);
    await watched.page
      .locator(".tile", { hasText: "Events" })
      .getByText(total.toLocaleString("en-US"), { exact: true })
      .waitFor();
    await watched.page
      .locator(".tile", { hasText: "Sessions" })
      .getByText(String(all.length), { exact: true })
      .waitFor();
    await watched.page.getByRole("heading", { name: "Events by type" }).waitFor();
    await watched.page.locator(".barlist-label", { hasText: "MODEL_INVOCATION_START" }).first().waitFor();
    await watched.page.getByRole("img", { name: "Events over time" }).waitFor();
    await watched.screenshot(`stats-${kind}`);

    // At 800 px the chart's text stays at its font size, and the long type names are whole.
    await watched.page.setViewportSize({ width: 800, height: 900 });
    const axisText = watched.page.getByRole("img", { name: "Events over time" }).locator("text").first();
    await expect.poll(async () => (await axisText.boundingBox())?.height ?? 0).toBeGreaterThan(9);
    await watched.page.locator(".barlist-label", { hasText: "MODEL_INVOCATION_START" }).first().waitFor();
    await watched.screenshot(`stats-narrow-${kind}`);
    expect(watched.problems).toEqual([]);
  });

  it("shows a session of one event on an axis of one tick, as running", async () => {
    const watched = await open(sessionPath(started));
    const { page } = watched;
    await signIn(watched);
    await page.getByRole("grid", { name: "Waterfall" }).locator(".vrow").first().waitFor();
    await expect(page.locator(".axis-ticks > span").allTextContents()).resolves.toEqual(["0"]);
    await expect(page.locator(".fact", { hasText: "Duration" }).locator("dd").textContent()).resolves.toBe("running");
    await watched.screenshot(`session-one-event-${kind}`);
    expect(watched.problems).toEqual([]);
  });

  it("says an unknown address is no page, with a way back to the sessions", async () => {
    const watched = await open("/nonsense/path");
    const { page } = watched;
    await signIn(watched);
    await page.getByRole("heading", { name: "Page not found" }).waitFor();
    expect(await page.locator('nav a[aria-current="page"]').count()).toBe(0);
    await watched.screenshot(`not-found-${kind}`);
    await page.getByRole("link", { name: "Go to the sessions" }).click();
    await page.getByRole("grid", { name: "Sessions" }).getByText(shown.sessionId).waitFor();
    expect(watched.problems).toEqual([]);
  });

  it("follows a session live, and new sessions in the list, while events are ingested", async () => {
    const [first, second] = recentSessions(2).map((session) => ({
      ...session,
      sessionId: `${session.sessionId}-live`,
      events: session.events.map((event) => ({
        ...event,
        sessionId: `${session.sessionId}-live`,
        eventId: `${event.eventId}-live`,
      })),
    }));
    const watched = await open(sessionPath(first, "&live=1"));
    const { page } = watched;
    await signIn(watched);
    await page.locator('.live-toggle.following[aria-pressed="true"]').waitFor();
    await server.ingest(first.events.slice(0, 5));
    await page.locator(".fact", { hasText: "Events" }).getByText("5", { exact: true }).waitFor();
    await server.ingest(first.events.slice(5));
    await page
      .locator(".fact", { hasText: "Events" })
      .getByText(String(first.events.length), { exact: true })
      .waitFor();
    await page.getByRole("grid", { name: "Waterfall" }).locator(".vrow").first().waitFor();
    await watched.screenshot(`session-live-${kind}`);

    const list = await open("/sessions?live=1");
    await signIn(list);
    await list.page.locator('.live-toggle.following[aria-pressed="true"]').waitFor();
    await server.ingest(second.events);
    await list.page.getByRole("grid", { name: "Sessions" }).getByText(second.sessionId).waitFor();
    expect(watched.problems).toEqual([]);
    expect(list.problems).toEqual([]);
  });

  it("follows prefers-color-scheme", async () => {
    const watched = await open(sessionPath(shown), "dark");
    await signIn(watched);
    await watched.page.getByRole("grid", { name: "Waterfall" }).locator(".vrow").first().waitFor();
    const background = await watched.page.evaluate("getComputedStyle(document.body).backgroundColor");
    expect(background).toBe("rgb(18, 21, 27)");
    await watched.screenshot(`session-dark-${kind}`);
    expect(watched.problems).toEqual([]);
  });
});

const eventMs = (event: Event) => Number(event.timestamp?.seconds ?? 0n) * 1000 + (event.timestamp?.nanos ?? 0) / 1e6;

/** Waits until the integrator has put `count` events in a signed checkpoint (each has a worm_proof_id). */
async function untilSealed(server: DashboardServer, count: number): Promise<void> {
  const client = createClient(
    ChaukasServerService,
    createConnectTransport({
      baseUrl: server.baseUrl,
      httpVersion: "1.1",
      interceptors: [
        (next) => (request) => {
          request.header.set("authorization", `Bearer ${server.readKey}`);
          return next(request);
        },
      ],
    }),
  );
  for (;;) {
    let sealed = 0;
    let pageToken = "";
    do {
      const { response } = await client.queryEvents({ query: { filter: {}, pageSize: 1000, pageToken } });
      sealed += response?.events.filter((event) => event.wormProofId).length ?? 0;
      pageToken = response?.nextPageToken ?? "";
    } while (pageToken);
    if (sealed >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
