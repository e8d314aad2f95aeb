import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

export const USAGE = `usage: npm run bench [-- options]

Creates a fresh PostgreSQL database chaukas_bench_<random> on DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/postgres), measures, drops it, prints a table and writes JSON.

  --tiny                 seconds-long run of every part with small numbers (also BENCH_TINY=1)
  --events N             events loaded for the query and stats part (default 300000)
  --ingest-events N      events per batch ingest run (default 50000)
  --single-events N      events for the one-event-per-call run (default 5000)
  --embedded-events N    events per embedded (PGlite) batch run (default 5000), and a fifth of that
                         for its single-event run
  --seed N               corpus seed (default 42)
  --out FILE             JSON results (default bench/results/<UTC start>-<parts>.json, with --tiny in
                         the temporary directory); a .md table beside it
  --database-url URL     PostgreSQL server to use (default DATABASE_URL)
  --grpc-connections N   HTTP/2 connections for gRPC ingest (default 4)
  --grpc-streams N       concurrent calls per connection (default 2; 4 for single events)
  --sdk-clients N        concurrent SDK clients, one keep-alive connection each (default 8)
  --only LIST            comma-separated parts: ceiling,ingest,otlp,audit,tail,tax,query,embedded
                         (default all of these; otlp: OTLP/HTTP exports of 512 GenAI spans beside
                         gRPC batches), and soak: sustained gRPC batch ingest, RSS sampled every 10 s,
                         and embedded-soak: the same on the embedded store, with its write-ahead log's size,
                         and burst: 300 concurrent ~3.9 MB Connect JSON batches, without and with a key,
                         on each store (bench/burst.ts: RSS growth and Healthz p99),
                         and redaction: gRPC batches with redaction off and on, alternating runs
  --soak-seconds N       how long each soak runs (default 600)
  --deep-page-size N     page_size while walking to page 1000 of a tenant's stream (default 10)
  --render FILE.json     measure nothing: print an earlier run's tables (targets judged again)
                         and write FILE.md
  --keep-db              keep the database at the end (for EXPLAIN); prints its URL
  --reuse-db NAME        with --only query: measure a database kept earlier (same --events and
                         --seed) instead of loading one; it is kept
  --server-log-level L   the server's --log-level: info (default, as deployed), debug or trace
  --server-node-flags=F  Node.js flags for every server process, space-separated, e.g.
                         --server-node-flags="--cpu-prof --cpu-prof-dir=/tmp/prof" (then node bench/profile.ts)`;

/** The parts a plain `npm run bench` runs, in this order. */
export const PARTS = ["ceiling", "ingest", "otlp", "audit", "tail", "tax", "query", "embedded"] as const;
/** Parts only `--only` runs: they take minutes of machine time on purpose. */
export const OPT_IN_PARTS = ["soak", "embedded-soak", "burst", "redaction"] as const;
export type Part = (typeof PARTS)[number] | (typeof OPT_IN_PARTS)[number];

export const RESULTS_DIR = join(import.meta.dirname, "results");

export interface Options {
  help: boolean;
  tiny: boolean;
  queryEvents: number;
  ingestEvents: number;
  singleEvents: number;
  embeddedEvents: number;
  embeddedSingleEvents: number;
  seed: number;
  out: string;
  databaseUrl: string;
  grpcConnections: number;
  grpcStreams: number;
  singleStreams: number;
  sdkClients: number;
  sdkBatch: number;
  grpcBatch: number;
  copyChunk: number;
  iterations: number;
  pages: number;
  taxRequests: number;
  taxConcurrency: number;
  parts: Set<Part>;
  serverLogLevel: string;
  serverNodeFlags: string[];
  keepDb: boolean;
  reuseDb?: string;
  deepPageSize: number;
  soakSeconds: number;
  render?: string;
}

export function parseOptions(argv: string[], now = new Date()): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      tiny: { type: "boolean" },
      events: { type: "string" },
      "ingest-events": { type: "string" },
      "single-events": { type: "string" },
      "embedded-events": { type: "string" },
      seed: { type: "string" },
      out: { type: "string" },
      "database-url": { type: "string" },
      "grpc-connections": { type: "string" },
      "grpc-streams": { type: "string" },
      "sdk-clients": { type: "string" },
      only: { type: "string" },
      "server-log-level": { type: "string" },
      "server-node-flags": { type: "string" },
      "keep-db": { type: "boolean" },
      "reuse-db": { type: "string" },
      "deep-page-size": { type: "string" },
      "soak-seconds": { type: "string" },
      render: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const tiny = Boolean(values.tiny) || ["1", "true", "yes"].includes(process.env.BENCH_TINY ?? "");
  const int = (raw: string | undefined, fallback: number, name: string) => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, got "${raw}"`);
    return n;
  };
  const known: readonly string[] = [...PARTS, ...OPT_IN_PARTS];
  const only = (values.only ?? PARTS.join(",")).split(",").map((s) => s.trim());
  for (const p of only) if (!known.includes(p)) throw new Error(`--only: unknown part "${p}" (${known.join(", ")})`);
  const parts = new Set(only as Part[]);
  if (values["reuse-db"] && (parts.size !== 1 || !parts.has("query"))) {
    throw new Error("--reuse-db measures queries only: add --only query");
  }
  const embeddedEvents = int(values["embedded-events"], tiny ? 1_000 : 5_000, "embedded-events");
  return {
    help: Boolean(values.help),
    tiny,
    queryEvents: int(values.events, tiny ? 6_000 : 300_000, "events"),
    ingestEvents: int(values["ingest-events"], tiny ? 2_000 : 50_000, "ingest-events"),
    singleEvents: int(values["single-events"], tiny ? 300 : 5_000, "single-events"),
    embeddedEvents,
    embeddedSingleEvents: Math.ceil(embeddedEvents / 5),
    seed: int(values.seed, 42, "seed"),
    out: resolve(values.out ?? defaultOut(now, tiny, values.only)),
    databaseUrl: values["database-url"] ?? process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres",
    grpcConnections: int(values["grpc-connections"], 4, "grpc-connections"),
    grpcStreams: int(values["grpc-streams"], 2, "grpc-streams"),
    singleStreams: 4,
    sdkClients: int(values["sdk-clients"], 8, "sdk-clients"),
    sdkBatch: 20,
    grpcBatch: 500,
    copyChunk: 5_000,
    iterations: tiny ? 5 : 200,
    pages: tiny ? 5 : 1000,
    taxRequests: tiny ? 100 : 5_000,
    taxConcurrency: 8,
    parts,
    serverLogLevel: values["server-log-level"] ?? "info",
    serverNodeFlags: (values["server-node-flags"] ?? "").split(" ").filter(Boolean),
    keepDb: Boolean(values["keep-db"]),
    reuseDb: values["reuse-db"],
    deepPageSize: int(values["deep-page-size"], 10, "deep-page-size"),
    soakSeconds: int(values["soak-seconds"], tiny ? 5 : 600, "soak-seconds"),
    render: values.render,
  };
}

/**
 * bench/results/2026-12-02T0136Z-full.json: when the run started (UTC) and what it measured. A tiny
 * run's figures say nothing worth keeping: they go to the system's temporary directory.
 */
function defaultOut(now: Date, tiny: boolean, only: string | undefined): string {
  const stamp = now.toISOString().slice(0, 16).replace(":", "");
  if (tiny) return join(tmpdir(), `chaukas-bench-${stamp}Z-tiny.json`);
  return join(RESULTS_DIR, `${stamp}Z-${only ? only.split(",").join("+") : "full"}.json`);
}
