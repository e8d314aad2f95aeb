import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UI_CONTENT_SECURITY_POLICY } from "../../src/api/http/ui-routes.ts";
import { buildServerApp } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import type { Authenticator } from "../../src/core/authenticator.ts";
import { UnauthenticatedError } from "../../src/lib/errors.ts";
import { JS_BUDGET_GZIP_BYTES, UI_OUT_DIR } from "../../ui/build.ts";
import { startTestServer, type TestServer } from "../support/server.ts";

/** How the server serves the dashboard built into dist/ui (the global setup's `npm run build`). */

// Keys are checked, and none is valid: the page and its assets must still be served, the APIs not.
const NO_KEY_VALID: Authenticator = {
  enforced: true,
  authenticate: async () => {
    throw new UnauthenticatedError("no key is valid here");
  },
};

describe("the dashboard's static serving", () => {
  let server: TestServer;
  let prefixed: TestServer;
  beforeAll(async () => {
    server = await startTestServer("embedded", {
      authenticator: NO_KEY_VALID,
      ui: { dir: UI_OUT_DIR, transport: "grpc-web" },
    });
    prefixed = await startTestServer("embedded", {
      sdkPathPrefix: "/api",
      ui: { dir: UI_OUT_DIR, transport: "connect" },
    });
  });
  afterAll(async () => {
    await server.close();
    await prefixed.close();
  });

  const get = (path: string, headers: Record<string, string> = {}, base = server) =>
    fetch(`${base.baseUrl}${path}`, { headers: { "accept-encoding": "identity", ...headers } });
  const html = { accept: "text/html,application/xhtml+xml,*/*;q=0.8" };
  const assetsOf = (page: string) => [...page.matchAll(/"\/assets\/([^"]+)"/g)].map((match) => match[1]);

  it("answers / with index.html, no-cache, the strict CSP, and the transport set at serve time", async () => {
    const answer = await get("/", html);
    expect(answer.status).toBe(200);
    expect(answer.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(answer.headers.get("cache-control")).toBe("no-cache");
    expect(answer.headers.get("content-security-policy")).toBe(UI_CONTENT_SECURITY_POLICY);
    for (const directive of [
      "default-src 'self'",
      "script-src 'self'",
      "connect-src 'self'",
      "frame-ancestors 'none'",
    ]) {
      expect(UI_CONTENT_SECURITY_POLICY).toContain(directive);
    }
    expect(UI_CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
    expect(answer.headers.get("x-content-type-options")).toBe("nosniff");
    const page = await answer.text();
    expect(page).toContain('<meta name="chaukas-transport" content="grpc-web" />');
    // No inline script: the one script is a file of this origin.
    expect(page.match(/<script[^>]*>/g)).toEqual([
      expect.stringMatching(/^<script type="module" src="\/assets\/app-[\w]+\.js">$/),
    ]);
    expect(assetsOf(page)).toHaveLength(3);
    const other = await (await get("/", html, prefixed)).text();
    expect(other).toContain('<meta name="chaukas-transport" content="connect" />');
  });

  it("serves hashed assets for a year, compressed as Accept-Encoding allows", async () => {
    const page = await (await get("/", html)).text();
    for (const name of assetsOf(page)) {
      expect(name).toMatch(/^(app|icon)-[\w]{8}\.(js|css|svg)$/);
      const plain = await get(`/assets/${name}`);
      expect(plain.status).toBe(200);
      expect(plain.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      expect(plain.headers.get("content-encoding")).toBeNull();
      expect(plain.headers.get("vary")).toBe("Accept-Encoding");
      const bytes = Buffer.from(await plain.arrayBuffer());
      expect(bytes).toEqual(readFileSync(join(UI_OUT_DIR, "assets", name)));

      const br = await get(`/assets/${name}`, { "accept-encoding": "gzip, deflate, br" });
      expect(br.headers.get("content-encoding")).toBe("br");
      // fetch decodes what it is sent; the raw bytes are checked against the file's own .br below.
      expect(Buffer.from(await br.arrayBuffer())).toEqual(bytes);
      expect(brotliDecompressSync(readFileSync(join(UI_OUT_DIR, "assets", `${name}.br`)))).toEqual(bytes);
      const gzip = await get(`/assets/${name}`, { "accept-encoding": "gzip;q=1, br;q=0" });
      expect(gzip.headers.get("content-encoding")).toBe("gzip");
      expect(Buffer.from(await gzip.arrayBuffer())).toEqual(bytes);
      expect(gunzipSync(readFileSync(join(UI_OUT_DIR, "assets", `${name}.gz`)))).toEqual(bytes);
    }
    expect((await get("/assets/app-00000000.js")).status).toBe(404);
  });

  it("keeps the JS within its budget", () => {
    const report = JSON.parse(readFileSync(join(UI_OUT_DIR, "build-report.json"), "utf8"));
    expect(report.js.gzip).toBeGreaterThan(0);
    expect(report.js.gzip).toBeLessThanOrEqual(JS_BUDGET_GZIP_BYTES);
  });

  it("answers page navigations with index.html, and nothing else", async () => {
    for (const path of ["/sessions", "/sessions/abc?tenant=acme&live=1", "/stats?range=7d"]) {
      const answer = await get(path, html);
      expect(answer.status, path).toBe(200);
      expect(answer.headers.get("content-type"), path).toBe("text/html; charset=utf-8");
      expect(answer.headers.get("cache-control"), path).toBe("no-cache");
    }
    // Not a navigation: a script asking for JSON gets the API's answer, not a page.
    expect((await get("/sessions", { accept: "application/json" })).status).toBe(404);
    // API-like paths stay the API's, even from a browser.
    for (const path of ["/v1/nope", "/chaukas.spec.server.v1.ChaukasServerService/Nope", "/events", "/favicon.ico"]) {
      expect((await get(path, html)).status, path).not.toBe(200);
    }
    expect((await get("/api/events", html, prefixed)).status).not.toBe(200);
  });

  it("does not shadow the API: its routes answer as before, keys still required", async () => {
    const health = await get("/healthz", html);
    expect(health.status).toBe(200);
    expect(health.headers.get("content-type")).toContain("application/json");
    expect((await get("/openapi.json", html)).headers.get("content-type")).toContain("application/json");
    expect((await get("/v1/capabilities", html)).status).toBe(401);
    const rpc = await fetch(`${server.baseUrl}/chaukas.spec.server.v1.ChaukasServerService/QueryEvents`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/html" },
      body: "{}",
    });
    expect(rpc.status).toBe(401);
    expect(await rpc.json()).toMatchObject({ code: "unauthenticated" });
    const ingest = await fetch(`${prefixed.baseUrl}/api/events/batch`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ events: [] }),
    });
    expect(ingest.headers.get("content-type")).toContain("application/json");
  });

  it("answers HEAD like GET, without a body", async () => {
    const answer = await fetch(`${server.baseUrl}/`, { method: "HEAD", headers: html });
    expect(answer.status).toBe(200);
    expect(answer.headers.get("content-security-policy")).toBe(UI_CONTENT_SECURITY_POLICY);
    expect(await answer.text()).toBe("");
  });
});

describe("--disable-ui", () => {
  it("leaves / to the API (404) while the APIs are served", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "chaukas-no-ui-"));
    const config = loadConfig(["--insecure-no-auth", "--data-dir", dataDir, "--port", "0", "--disable-ui"], {});
    const { server } = await buildServerApp(config, pino({ level: "silent" }));
    try {
      await server.listen({ host: "127.0.0.1", port: 0 });
      const { port } = server.server.address() as { port: number };
      expect((await fetch(`http://127.0.0.1:${port}/`, { headers: html() })).status).toBe(404);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    } finally {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
  const html = () => ({ accept: "text/html" });
});
