import type { Timestamp } from "@bufbuild/protobuf/wkt";

/** How the page writes times, durations and amounts: compact, and the same everywhere. */

export const millisOf = (ts: Timestamp | undefined): number =>
  ts ? Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6) : 0;

/** Nanoseconds since the epoch, for ordering and durations below a millisecond. */
export const nanosOf = (ts: Timestamp | undefined): bigint =>
  ts ? ts.seconds * 1_000_000_000n + BigInt(ts.nanos) : 0n;

const absolute = new Intl.DateTimeFormat(undefined, {
  year: "numeric",
  month: "short",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hour12: false,
});

export const absoluteTime = (ms: number) => absolute.format(ms);

/** ISO 8601 in UTC with milliseconds, for titles and copying. */
export const isoTime = (ms: number) => new Date(ms).toISOString();

export function relativeTime(ms: number, now = Date.now()): string {
  const seconds = Math.round((now - ms) / 1000);
  if (Math.abs(seconds) < 45) return "just now";
  const units: [string, number][] = [
    ["d", 86400],
    ["h", 3600],
    ["min", 60],
  ];
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size) {
      const n = Math.round(Math.abs(seconds) / size);
      return seconds > 0 ? `${n} ${unit} ago` : `in ${n} ${unit}`;
    }
  }
  return `${Math.abs(seconds)} s ago`;
}

/** 840 µs, 12 ms, 3.40 s, 2 min 5 s, 1 h 3 min. */
export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "–";
  // Rounded to each unit's precision before the unit is chosen: 999.7 ms reads "1.00 s", not "1000 ms".
  const us = Math.round(ms * 1000);
  if (us < 1000) return `${us} µs`;
  const tenthsOfMs = Math.round(ms * 10) / 10;
  if (tenthsOfMs < 10) return `${tenthsOfMs.toFixed(1)} ms`;
  if (Math.round(ms) < 1000) return `${Math.round(ms)} ms`;
  const hundredthsOfS = Math.round(ms / 10) / 100;
  if (hundredthsOfS < 10) return `${hundredthsOfS.toFixed(2)} s`;
  const tenthsOfS = Math.round(ms / 100) / 10;
  if (tenthsOfS < 60) return `${tenthsOfS.toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  const minutes = Math.round(ms / 60_000);
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

const counts = new Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 1 });
export const count = (n: number | bigint) => (Number(n) < 10_000 ? Number(n).toLocaleString() : counts.format(n));

export const money = (amount: number, currency = "USD") =>
  amount === 0
    ? "–"
    : new Intl.NumberFormat(undefined, {
        style: "currency",
        currency: currency || "USD",
        maximumSignificantDigits: amount < 1 ? 3 : 6,
      }).format(amount);
