import { create } from "@bufbuild/protobuf";
import { type Timestamp, TimestampSchema } from "@bufbuild/protobuf/wkt";

const NS_PER_SECOND = 1_000_000_000n;
/** Nanoseconds since the epoch are stored as int64: 1677-09-21 to 2262-04-11. */
const MIN_SECONDS = -9_223_372_036n;
const MAX_SECONDS = 9_223_372_035n;

export function timestampToNs(ts: Pick<Timestamp, "seconds" | "nanos">): bigint {
  return ts.seconds * NS_PER_SECOND + BigInt(ts.nanos);
}

/** Nanoseconds since the epoch as a Timestamp (seconds rounded down, nanos 0..999999999). */
export function nsToTimestamp(ns: bigint): Timestamp {
  const nanos = ((ns % NS_PER_SECOND) + NS_PER_SECOND) % NS_PER_SECOND;
  return create(TimestampSchema, { seconds: (ns - nanos) / NS_PER_SECOND, nanos: Number(nanos) });
}

/** Why `ts` cannot be stored, or undefined when it can. */
export function timestampProblem(ts: Pick<Timestamp, "seconds" | "nanos">): string | undefined {
  if (ts.nanos < 0 || ts.nanos > 999_999_999) return "nanos must be within 0..999999999";
  if (ts.seconds < MIN_SECONDS || ts.seconds > MAX_SECONDS) {
    // The exact bounds: the old text said 1677-09-22, yet 1677-09-21T00:12:44Z is accepted.
    return "must be between 1677-09-21T00:12:44Z and 2262-04-11T23:47:15Z";
  }
  return undefined;
}

/** Nanoseconds since the epoch as a Timestamp's parts (OTLP times are unsigned nanoseconds). */
export function nsToTimestampParts(ns: bigint): { seconds: bigint; nanos: number } {
  return { seconds: ns / NS_PER_SECOND, nanos: Number(ns % NS_PER_SECOND) };
}
