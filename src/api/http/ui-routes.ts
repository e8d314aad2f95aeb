import { readdirSync, readFileSync } from "node:fs";
import { extname, join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

export type UiTransport = "grpc-web" | "connect";

export interface UiOptions {
  /** The built dashboard: index.html and assets/ with .gz and .br copies (ui/build.ts writes dist/ui). */
  dir: string;
  /** The protocol the page speaks to this server, written into its `chaukas-transport` meta tag. */
  transport: UiTransport;
  /** Where the SDK's routes live (`/events…` under it), so the page's fallback leaves them alone. */
  sdkPathPrefix: string;
}

/** Only this origin: no inline script, no eval, no framing. Preact sets styles through the CSSOM. */
export const UI_CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".html": "text/html; charset=utf-8",
};

interface Asset {
  type: string;
  identity: Buffer;
  gzip: Buffer;
  br: Buffer;
  cacheControl: string;
}

/**
 * The dashboard on the API's port: `/assets/<name>-<hash>.<ext>` cached for a year, `/` and any
 * other page navigation (GET, Accept: text/html) answered with index.html, never cached. Routes
 * registered by the API always win (Fastify prefers static paths over this wildcard), and API-like
 * paths it does not know (`/v1/…`, `/<package>.<Service>/…`, the SDK's `/events…`) stay 404.
 * Every file is held in memory, compressed ahead of time with gzip and brotli.
 */
export async function uiRoutes(app: FastifyInstance, options: UiOptions): Promise<void> {
  const index = indexPage(options);
  const assets = new Map(
    readdirSync(join(options.dir, "assets"))
      .filter((name) => !name.endsWith(".gz") && !name.endsWith(".br"))
      .map((name) => [name, assetFile(join(options.dir, "assets", name))]),
  );
  const isApiPath = (path: string) => {
    const first = path.split("/")[1] ?? "";
    return (
      first.includes(".") || first === "v1" || first === "healthz" || path.startsWith(`${options.sdkPathPrefix}/events`)
    );
  };
  const route = { config: { public: true } };

  app.get("/assets/:name", route, async (request, reply) => {
    const asset = assets.get((request.params as { name: string }).name);
    return asset ? send(request, reply, asset) : reply.callNotFound();
  });
  app.get("/", route, async (request, reply) => send(request, reply, index));
  app.get("/*", route, async (request, reply) => {
    const path = request.url.split("?")[0];
    const navigation = String(request.headers.accept ?? "").includes("text/html");
    return navigation && !isApiPath(path) ? send(request, reply, index) : reply.callNotFound();
  });
}

function indexPage(options: UiOptions): Asset {
  const html = readFileSync(join(options.dir, "index.html"), "utf8");
  const meta = '<meta name="chaukas-transport" content="connect" />';
  if (!html.includes(meta)) throw new Error(`${options.dir}/index.html has no ${meta} to set`);
  const identity = Buffer.from(html.replace(meta, `<meta name="chaukas-transport" content="${options.transport}" />`));
  return {
    type: TYPES[".html"],
    identity,
    gzip: gzipSync(identity, { level: 9 }),
    br: brotliCompressSync(identity, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }),
    // A new build names new assets: the page must be asked for again each time.
    cacheControl: "no-cache",
  };
}

function assetFile(path: string): Asset {
  return {
    type: TYPES[extname(path)] ?? "application/octet-stream",
    identity: readFileSync(path),
    gzip: readFileSync(`${path}.gz`),
    br: readFileSync(`${path}.br`),
    // The name holds the content's hash: it never changes.
    cacheControl: "public, max-age=31536000, immutable",
  };
}

function send(request: FastifyRequest, reply: FastifyReply, asset: Asset) {
  const encoding = preferredEncoding(String(request.headers["accept-encoding"] ?? ""));
  const body = encoding ? asset[encoding] : asset.identity;
  reply
    .header("content-type", asset.type)
    .header("cache-control", asset.cacheControl)
    .header("vary", "Accept-Encoding")
    .header("content-security-policy", UI_CONTENT_SECURITY_POLICY)
    .header("x-content-type-options", "nosniff")
    .header("referrer-policy", "no-referrer")
    .header("cross-origin-opener-policy", "same-origin");
  if (encoding) reply.header("content-encoding", encoding);
  return reply.send(body);
}

/** br, else gzip, else none, as the client's Accept-Encoding allows (q=0 refuses). */
function preferredEncoding(header: string): "br" | "gzip" | undefined {
  const accepted = new Map<string, number>();
  for (const part of header.toLowerCase().split(",")) {
    const [name, ...params] = part.trim().split(";");
    const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)?.[1]).find(Boolean);
    accepted.set(name.trim(), q === undefined ? 1 : Number(q));
  }
  const weight = (name: string) => accepted.get(name) ?? (accepted.get("*") || 0);
  if (weight("br") > 0) return "br";
  if (weight("gzip") > 0) return "gzip";
  return undefined;
}
