import { chromium } from "playwright-core";
import type { QueryResult, QueryTargets } from "./queries.ts";
import { latency } from "./stats.ts";

/**
 * The dashboard's first view in Chromium, against the query part's server and corpus: from
 * navigation until the first row is drawn, for a session's waterfall (QueryEvents) and for the
 * sessions list (SessionService.ListSessions). The server runs without keys (bench/server.ts),
 * so the page starts signed in with any key; each load is a fresh browser context (no cache).
 */
export async function measureDashboard(
  baseUrl: string,
  targets: QueryTargets,
  iterations: number,
): Promise<Record<string, QueryResult>> {
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu"],
  });
  try {
    const firstRow = async (path: string, grid: string): Promise<number> => {
      const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
      await context.addInitScript(() => sessionStorage.setItem("chaukas.apiKey", "bench"));
      const page = await context.newPage();
      const started = performance.now();
      await page.goto(`${baseUrl}${path}`);
      await page.getByRole("grid", { name: grid }).locator(".vrow").first().waitFor({ timeout: 60_000 });
      const ms = performance.now() - started;
      await context.close();
      return ms;
    };
    const tenant = encodeURIComponent(targets.tenantId);
    // The browser's own start-up is not the page's: one load first, not counted.
    await firstRow(`/sessions?tenant=${tenant}&range=all`, "Sessions");
    const session: number[] = [];
    const list: number[] = [];
    for (let i = 0; i < iterations; i++) {
      const { sessionId } = targets.sessions[i % targets.sessions.length];
      session.push(await firstRow(`/sessions/${encodeURIComponent(sessionId)}?tenant=${tenant}`, "Waterfall"));
      list.push(await firstRow(`/sessions?tenant=${tenant}&range=all`, "Sessions"));
    }
    return {
      dashboardSession: { ...latency(session), rowsP50: 0, what: "dashboard: first view of a session's waterfall" },
      dashboardSessions: { ...latency(list), rowsP50: 0, what: "dashboard: first view of the sessions list" },
    };
  } finally {
    await browser.close();
  }
}
