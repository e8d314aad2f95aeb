import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";

/** Where the browser tests save their screenshots (gitignored), to be looked at. */
export const ARTIFACTS = join(import.meta.dirname, "..", "..", "test-artifacts", "ui");

/** The system's Chromium (`.ci/run` installs it), driven by playwright-core. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu"] });
}

export interface WatchedPage {
  page: Page;
  /** Console errors, page errors, failed requests and every request to another origin, as they happen. */
  problems: string[];
  screenshot: (name: string) => Promise<void>;
}

export async function watchedPage(
  browser: Browser,
  baseUrl: string,
  options: { colorScheme?: "light" | "dark" } = {},
): Promise<WatchedPage> {
  const context = await browser.newContext({
    viewport: { width: 1440, height: 900 },
    colorScheme: options.colorScheme,
  });
  const page = await context.newPage();
  // The test's own timeout bounds every wait; Playwright's 30 s default is short on a busy machine.
  page.setDefaultTimeout(150_000);
  const problems: string[] = [];
  const origin = new URL(baseUrl).origin;
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console error: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("request", (request) => {
    const url = new URL(request.url());
    if (url.protocol !== "data:" && url.origin !== origin) problems.push(`request to another origin: ${request.url()}`);
  });
  page.on("requestfailed", (request) => {
    // A live tail the page ends itself (leaving a view) is an abort, not a failure.
    if (request.failure()?.errorText !== "net::ERR_ABORTED")
      problems.push(`request failed: ${request.url()} ${request.failure()?.errorText}`);
  });
  mkdirSync(ARTIFACTS, { recursive: true });
  return {
    page,
    problems,
    screenshot: async (name) => {
      await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
    },
  };
}
