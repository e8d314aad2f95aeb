import type { Event } from "../gen/chaukas/spec/common/v1/events_pb.ts";
import { corpusEvents, DEFAULT_CORPUS } from "../kit/corpus.ts";
import { toEventRecord } from "../src/core/event-record.ts";
import { eventViolations } from "../src/core/event-rules.ts";
import type { EventRecord } from "../src/store/event-store.ts";
import type { Options } from "./options.ts";
import { round } from "./stats.ts";

/** The events every ingest part sends (or copies), generated once per run. */
export interface IngestCorpus {
  events: Event[];
  /** The same events as the store writes them. */
  records: EventRecord[];
  /** Their stored payloads' bytes, for MB/s. */
  payloadBytes: number;
  /** Other events, sent before measuring so the server is warm. */
  warm: Event[];
  summary: CorpusSummary;
}

export interface CorpusSummary {
  seed: number;
  events: number;
  sessions: number;
  tenants: number;
  avgEventBytes: number;
  avgSearchTextChars: number;
}

/** `o.ingestEvents` events of the seeded corpus, each checked against the server's ingest rules. */
export function ingestCorpus(o: Options): IngestCorpus {
  const corpus = { ...DEFAULT_CORPUS, seed: o.seed, expectedEvents: o.ingestEvents };
  const events = corpusEvents(corpus, o.ingestEvents);
  for (const [i, event] of events.entries()) {
    const violations = eventViolations(event, `corpus[${i}]`);
    if (violations.length) throw new Error(`the corpus is invalid: ${JSON.stringify(violations)}`);
  }
  const records = events.map(toEventRecord);
  const payloadBytes = records.reduce((n, r) => n + r.payload.length, 0);
  return {
    events,
    records,
    payloadBytes,
    warm: corpusEvents({ ...corpus, seed: o.seed + 1 }, o.tiny ? 200 : 2_000),
    summary: {
      seed: o.seed,
      events: events.length,
      sessions: new Set(events.map((e) => e.sessionId)).size,
      tenants: new Set(events.map((e) => e.tenantId)).size,
      avgEventBytes: round(payloadBytes / events.length),
      avgSearchTextChars: round(records.reduce((n, r) => n + r.searchText.length, 0) / records.length),
    },
  };
}
