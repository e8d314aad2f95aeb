/**
 * The memory a burst of large requests costs the server: ~300 concurrent ~3.9 MB Connect JSON
 * IngestEventBatch requests, first without an API key, then with one (and
 * --max-inflight-events 1000), against the built server in its own process on each store. Samples
 * the server's RSS (VmRSS) and the latency of Healthz during each burst and prints, per case, the
 * peak RSS growth over the level before the burst and Healthz p99.
 *
 *   npm run build && node bench/burst.ts [--requests 300] [--body-mb 3.9] [--stores embedded,postgres]
 *     [--keys none,valid] [--server-flags="--max-inflight-body-mb 32"]
 *
 * Target: RSS grows by less than 200 MiB, and Healthz keeps answering.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { adminKeyFile } from "../src/app.ts";
import { BenchDatabase } from "./database.ts";
import { log } from "./log.ts";
import { processMemory } from "./meters.ts";
import { startBenchServer } from "./server.ts";
import { latency, mib, table } from "./stats.ts";

const BATCH = "/chaukas.spec.server.v1.ChaukasServerService/IngestEventBatch";
const HEALTHZ = "/chaukas.spec.server.v1.ChaukasServerService/Healthz";
export const BURST_TARGET_GROWTH_MIB = 200;

export interface BurstOptions {
  requests: number;
  bodyBytes: number;
  stores: ("embedded" | "postgres")[];
  /** Which bursts: without a key ("none"), with a valid one ("valid"). */
  keys: ("none" | "valid")[];
  /** Extra server flags, e.g. another --max-inflight-body-mb. */
  serverFlags: string[];
  databaseUrl: string;
  serverLogLevel: string;
}

export interface BurstResult {
  store: string;
  keyed: boolean;
  requests: number;
  /** How many answers had each HTTP status ("error": the connection failed). */
  statuses: Record<string, number>;
  rssBeforeMib: number;
  peakRssGrowthMib: number;
  healthz: ReturnType<typeof latency> & { failed: number };
  seconds: number;
}

/** One Connect JSON IngestEventBatchRequest of about `bytes`: events of ~4 KB, each with its own id. */
function batchBody(bytes: number): Buffer {
  const run = randomBytes(4).toString("hex");
  const text = "lorem ipsum dolor sit amet ".repeat(140);
  const events: string[] = [];
  let size = 40;
  for (let i = 0; size < bytes; i++) {
    const event = JSON.stringify({
      eventId: `burst-${run}-${i}`,
      tenantId: "default",
      projectId: "burst",
      sessionId: `session-${i % 50}`,
      type: "EVENT_TYPE_AGENT_START",
      status: "EVENT_STATUS_STARTED",
      severity: "SEVERITY_INFO",
      timestamp: new Date(Date.UTC(2026, 0, 1) + i).toISOString(),
      tags: ["burst", `tag-${i % 10}`],
      metadata: { text, n: i },
    });
    events.push(event);
    size += event.length + 1;
  }
  return Buffer.from(`{"eventBatch":{"batchId":"burst-${run}","events":[${events.join(",")}]}}`);
}

/** One POST on a connection of its own; resolves with the status, or "error". */
function post(baseUrl: string, path: string, body: Buffer, headers: http.OutgoingHttpHeaders): Promise<string> {
  return new Promise((resolve) => {
    const req = http.request(`${baseUrl}${path}`, {
      method: "POST",
      agent: false,
      headers: { "content-type": "application/json", "content-length": body.length, ...headers },
    });
    req.on("response", (res) => {
      res.resume();
      res.on("end", () => resolve(String(res.statusCode)));
      res.on("error", () => resolve("error"));
    });
    req.on("error", () => resolve("error"));
    req.end(body);
  });
}

/** Healthz, one call at a time on a keep-alive connection, until `done` resolves. */
async function probeHealthz(baseUrl: string, done: Promise<unknown>): Promise<{ samples: number[]; failed: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const samples: number[] = [];
  let failed = 0;
  let finished = false;
  void done.then(() => {
    finished = true;
  });
  while (!finished) {
    const started = performance.now();
    const status = await new Promise<string>((resolve) => {
      const req = http.request(`${baseUrl}${HEALTHZ}`, {
        method: "POST",
        agent,
        timeout: 30_000,
        headers: { "content-type": "application/json" },
      });
      req.on("response", (res) => {
        res.resume();
        res.on("end", () => resolve(String(res.statusCode)));
      });
      req.on("timeout", () => req.destroy());
      req.on("error", () => resolve("error"));
      req.end("{}");
    });
    if (status === "200") samples.push(performance.now() - started);
    else failed++;
    await sleep(20);
  }
  agent.destroy();
  return { samples, failed };
}

async function burstOnce(
  o: BurstOptions,
  store: "embedded" | "postgres",
  keyed: boolean,
  body: Buffer,
  tmp: string,
): Promise<BurstResult> {
  const label = `${store}-${keyed ? "key" : "nokey"}`;
  const dataDir = join(tmp, label);
  const database = store === "postgres" ? await BenchDatabase.create(o.databaseUrl) : undefined;
  const databaseUrl = database?.url;
  const server = await startBenchServer({
    databaseUrl,
    dataDir,
    keys: true,
    logFile: join(tmp, `server-${label}.log`),
    logLevel: o.serverLogLevel,
    serverFlags: [...(databaseUrl ? ["--data-dir", dataDir] : []), "--max-inflight-events", "1000", ...o.serverFlags],
  });
  try {
    const key = readFileSync(adminKeyFile({ databaseUrl, dataDir }), "utf8").trim();
    // Let start-up garbage settle, so the level before the burst is the server at rest.
    await sleep(2000);
    const before = processMemory(server.pid).rssBytes;
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, processMemory(server.pid).rssBytes);
    }, 20);
    const headers = keyed ? { authorization: `Bearer ${key}` } : {};
    const started = performance.now();
    const burst = Promise.all(Array.from({ length: o.requests }, () => post(server.baseUrl, BATCH, body, headers)));
    const [statuses, healthz] = await Promise.all([burst, probeHealthz(server.baseUrl, burst)]);
    const seconds = (performance.now() - started) / 1000;
    // The peak may come just after the last answer, while the last batches are written and freed.
    await sleep(1000);
    clearInterval(sampler);
    peak = Math.max(peak, processMemory(server.pid).rssBytes);
    const counts: Record<string, number> = {};
    for (const status of statuses) counts[status] = (counts[status] ?? 0) + 1;
    return {
      store,
      keyed,
      requests: o.requests,
      statuses: counts,
      rssBeforeMib: mib(before),
      peakRssGrowthMib: mib(peak - before),
      healthz: { ...latency(healthz.samples), failed: healthz.failed },
      seconds: Math.round(seconds * 10) / 10,
    };
  } finally {
    await server.stop();
    await database?.drop();
  }
}

/** Every case on every store, one fresh server process each. */
export async function measureBurst(o: BurstOptions): Promise<BurstResult[]> {
  const body = batchBody(o.bodyBytes);
  const tmp = mkdtempSync(join(os.tmpdir(), "chaukas-burst-"));
  const results: BurstResult[] = [];
  try {
    for (const store of o.stores) {
      for (const keyed of o.keys.map((k) => k === "valid")) {
        log(
          `burst: ${o.requests} x ${mib(body.length)} MiB Connect JSON batches, ${keyed ? "with" : "without"} a key, ${store} store`,
        );
        results.push(await burstOnce(o, store, keyed, body, tmp));
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return results;
}

export function burstTable(results: readonly BurstResult[]): string {
  return table(
    [
      "store",
      "key",
      "answers",
      "RSS before MiB",
      "peak growth MiB",
      "Healthz p50 ms",
      "Healthz p99 ms",
      "Healthz failed",
      "s",
    ],
    results.map((r) => [
      r.store,
      r.keyed ? "valid" : "none",
      Object.entries(r.statuses)
        .map(([status, n]) => `${n}x${status}`)
        .join(" "),
      r.rssBeforeMib,
      r.peakRssGrowthMib,
      r.healthz.p50Ms,
      r.healthz.p99Ms,
      r.healthz.failed,
      r.seconds,
    ]),
  );
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      requests: { type: "string" },
      "body-mb": { type: "string" },
      stores: { type: "string" },
      "database-url": { type: "string" },
      keys: { type: "string" },
      "server-flags": { type: "string" },
    },
  });
  const results = await measureBurst({
    requests: Number(values.requests ?? 300),
    bodyBytes: Math.round(Number(values["body-mb"] ?? 3.9) * 1_000_000),
    stores: (values.stores ?? "embedded,postgres").split(",") as BurstOptions["stores"],
    keys: (values.keys ?? "none,valid").split(",") as BurstOptions["keys"],
    serverFlags: (values["server-flags"] ?? "").split(" ").filter(Boolean),
    databaseUrl: values["database-url"] ?? process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres",
    serverLogLevel: "info",
  });
  console.log(burstTable(results));
  const over = results.filter((r) => r.peakRssGrowthMib >= BURST_TARGET_GROWTH_MIB || r.healthz.count === 0);
  console.log(
    over.length === 0
      ? `target met: every burst grew RSS by < ${BURST_TARGET_GROWTH_MIB} MiB, Healthz answered`
      : `target missed: ${over.map((r) => `${r.store}/${r.keyed ? "key" : "no key"}`).join(", ")}`,
  );
}
