/**
 * What the server counts and times, told by the code where each thing happens; api/metrics/
 * turns it into Prometheus metrics. Here so every layer can report without importing prom-client.
 * Every label value comes from a fixed set, except `tenantId`, which is dropped unless the
 * operator opts in (its number of values is the number of tenants).
 */
export interface Metrics {
  /** Events that arrived in ingest requests, by protocol (connect, grpc, grpc-web, rest, sdk). */
  eventsReceived(protocol: string, count: number): void;
  /** Events that passed validation and were stored (or were already stored). */
  eventsAccepted(tenantId: string, count: number): void;
  /** Events refused, by why (see RejectionReason). */
  eventsRejected(reason: RejectionReason, tenantId: string, count: number): void;
  /** Accepted events the store already held (re-sent): left as they were. */
  eventsDuplicate(count: number): void;
  /** The number of events of one ingest batch. */
  ingestBatch(events: number): void;
  /** One finished request: `seconds` from its first byte to its answer's last. */
  requestFinished(labels: RequestLabels, seconds: number): void;
  /** A request or batch refused because a memory bound would be passed (see Bound). */
  backpressureRefused(bound: Bound): void;
  /** A request whose credentials were refused, by why. */
  authFailed(reason: AuthFailure): void;
  /** One store operation (e.g. `insertEvents`, `audit.integrate`), waiting for a connection included. */
  storeOperation(op: string, seconds: number): void;
}

export type RejectionReason = "invalid" | "undecodable" | "out_of_scope" | "overloaded";
export type Bound = "body_bytes" | "inflight_events" | "heap";
export type AuthFailure = "missing_key" | "invalid_key" | "revoked_key" | "too_many_failures";

export interface RequestLabels {
  /** The RPC's service (`chaukas.spec.server.v1.ChaukasServerService`), or `rest`, `sdk`, `http`. */
  service: string;
  /** The RPC's method, or the plain route's `METHOD /path` (`unmatched` for no route). */
  method: string;
  protocol: string;
  /** The Connect code (`ok`, `invalid_argument`...), or the HTTP status of a plain route. */
  code: string;
}

/** Counts nothing: for the CLI and for tests that do not look. */
export const NO_METRICS: Metrics = {
  eventsReceived: () => {},
  eventsAccepted: () => {},
  eventsRejected: () => {},
  eventsDuplicate: () => {},
  ingestBatch: () => {},
  requestFinished: () => {},
  backpressureRefused: () => {},
  authFailed: () => {},
  storeOperation: () => {},
};
