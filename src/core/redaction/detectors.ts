/**
 * Detectors for secrets and personal data in text. Pure: no I/O, nothing of ours imported.
 *
 * Each detector has a precise pattern, checked further where a format carries a checksum (Luhn for
 * payment cards, mod-97 for IBANs), and a loose trigger: a pattern every precise match contains,
 * with no word boundaries, so that it can run over an event's protobuf bytes read as Latin-1
 * (length bytes next to a string may look like letters). An event whose bytes match no trigger
 * holds nothing to redact and is never decoded.
 */

export type DetectorKind = "credential" | "personal";

export interface Detector {
  name: string;
  /** Credentials are detected unless turned off; personal data only when turned on. */
  kind: DetectorKind;
  trigger: RegExp;
  /** Global; each match is a candidate that `valid` (if any) confirms. */
  pattern: RegExp;
  valid?: (match: string) => boolean;
  /**
   * A second look at bytes the trigger matched, true whenever they may hold a confirmed match
   * (also read as Latin-1, with no boundaries): what saves a decode where the trigger is common.
   */
  possible?: (bytes: string) => boolean;
}

/** In the order they run: a longer format first, so a JWT is not read as an API key. */
export const DETECTORS: readonly Detector[] = [
  {
    name: "private_key",
    kind: "credential",
    trigger: /-----BEGIN/,
    // Without its END line, everything after BEGIN: a truncated key is still a key.
    pattern: /-----BEGIN[A-Z0-9 ]*PRIVATE KEY-----(?:[\s\S]*?-----END[A-Z0-9 ]*PRIVATE KEY-----|[\s\S]*$)/g,
  },
  {
    name: "jwt",
    kind: "credential",
    trigger: /eyJ/,
    pattern: /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g,
  },
  {
    name: "aws_access_key",
    kind: "credential",
    trigger: /A(?:KIA|SIA|GPA|IDA|ROA|NPA|NVA|IPA)[A-Z0-9]{16}/,
    pattern: /\bA(?:KIA|SIA|GPA|IDA|ROA|NPA|NVA|IPA)[A-Z0-9]{16}\b/g,
  },
  {
    name: "api_key",
    kind: "credential",
    trigger: /sk-|sk_live_|rk_live_|gh[pousr]_|github_pat_|xox[abprs]-|glpat-|AIza/,
    pattern:
      /\b(?:sk-[A-Za-z0-9_-]{20,}|[sr]k_live_[A-Za-z0-9]{20,}|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}|xox[abprs]-[A-Za-z0-9-]{10,}|glpat-[A-Za-z0-9_-]{20,}|AIza[A-Za-z0-9_-]{35})/g,
  },
  {
    name: "card_number",
    kind: "personal",
    // Card networks' numbers start with 2 to 6: epoch timestamps (1…) and other ids are not cards.
    trigger: /[2-6](?:[ -]?\d){12}/,
    pattern: /\b[2-6](?:[ -]?\d){12,18}\b/g,
    valid: (match) => luhnValid(match.replace(/[ -]/g, "")),
    // Digit runs are common in ids: only one holding 13 to 19 digits that pass the Luhn check counts.
    possible: (bytes) => {
      for (const [run] of bytes.matchAll(/[2-6](?:[ -]?\d){12,}/g)) {
        const digits = run.replace(/[ -]/g, "");
        for (let start = 0; start + 13 <= digits.length; start++) {
          if (digits[start] < "2" || digits[start] > "6") continue;
          for (let end = start + 13; end <= Math.min(start + 19, digits.length); end++) {
            if (luhnValid(digits.slice(start, end))) return true;
          }
        }
      }
      return false;
    },
  },
  {
    name: "iban",
    kind: "personal",
    trigger: /[A-Z]{2}\d{2}/,
    pattern: /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b/g,
    valid: (match) => ibanValid(match.replace(/ /g, "")),
  },
  {
    name: "email",
    kind: "personal",
    // Not "@" alone: protobuf framing bytes read as Latin-1 hold "@" (0x40) in most events.
    trigger: /[A-Za-z0-9._%+-]@[A-Za-z0-9-]+\.[A-Za-z0-9]/,
    pattern: /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g,
  },
  {
    name: "phone",
    kind: "personal",
    trigger: /\+\d|\(\d{3}\)|\d{3}[-. ]\d{3}[-. ]\d{4}/,
    // International (+ and 7 to 15 digits) or North American ((555) 123-4567, 555-123-4567).
    pattern: /\+\d(?:[ .-]?\(?\d\)?){6,14}|(?:\(\d{3}\) ?|\b\d{3}[-. ])\d{3}[-. ]\d{4}\b/g,
  },
];

export const DETECTOR_NAMES: readonly string[] = DETECTORS.map((d) => d.name);

/** Calls `found(match, detector)` for each confirmed match, in order; its answer replaces the match. */
export function replaceDetected(
  text: string,
  detectors: readonly Detector[],
  found: (match: string, detector: Detector) => string,
): string {
  let result = text;
  for (const detector of detectors) {
    if (!detector.trigger.test(result)) continue;
    result = result.replace(detector.pattern, (match) =>
      detector.valid === undefined || detector.valid(match) ? found(match, detector) : match,
    );
  }
  return result;
}

/** The Luhn check of a payment card number (digits only). */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return digits.length >= 13 && sum % 10 === 0;
}

/** The ISO 13616 check of an IBAN (no spaces): moved country and check digits, mod 97 is 1. */
export function ibanValid(iban: string): boolean {
  if (iban.length < 15 || iban.length > 34) return false;
  const moved = iban.slice(4) + iban.slice(0, 4);
  let remainder = 0;
  for (const c of moved) {
    const value = c >= "A" ? c.charCodeAt(0) - 55 : c.charCodeAt(0) - 48;
    remainder = (value > 9 ? remainder * 100 + value : remainder * 10 + value) % 97;
  }
  return remainder === 1;
}
