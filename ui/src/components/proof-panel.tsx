import { useEffect, useState } from "preact/hooks";
import type { Event } from "../../../gen/chaukas/spec/common/v1/events_pb.ts";
import { type Api, errorText } from "../api.ts";
import { contentHashOf } from "../proof/content-hash.ts";
import { verifyInclusionProof } from "../proof/verify.ts";

type Check =
  | { state: "unsealed" }
  | { state: "checking" }
  | { state: "verified"; size: bigint; origin: string; leafIndex: bigint; contentMatches: boolean }
  | { state: "failed"; reason: string };

// The server's verifier keys (each that signed a checkpoint, across rotations), fetched once per
// signed-in API (GetPublicKey needs no key).
const verifierKeys = new WeakMap<Api, Promise<string[]>>();
function verifierKeysOf(api: Api): Promise<string[]> {
  let keys = verifierKeys.get(api);
  if (!keys) {
    keys = api.audit
      .getPublicKey({})
      .then((answer) => (answer.keys.length > 0 ? answer.keys.map((key) => key.verifierKey) : [answer.verifierKey]));
    keys.catch(() => verifierKeys.delete(api));
    verifierKeys.set(api, keys);
  }
  return keys;
}

/** Why the event's content was purged, as its stub says (redaction method "purged"); undefined if it was not. */
function purgeReasonOf(event: Event): string | undefined {
  if (event.redaction?.method !== "purged") return undefined;
  const mark = event.metadata?.chaukas_purged;
  const reason = mark && typeof mark === "object" && !Array.isArray(mark) ? mark.reason : undefined;
  return typeof reason === "string" ? reason : "no reason given";
}

/** The checkpoint size an event's worm_proof_id (`checkpoint/<size>`) names. */
function checkpointSizeOf(wormProofId: string): bigint | undefined {
  const match = /^checkpoint\/(\d+)$/.exec(wormProofId);
  return match ? BigInt(match[1]) : undefined;
}

/**
 * Whether the event is in a signed checkpoint, checked here in the browser: the inclusion proof
 * and the checkpoint's signature against the server's published key, and the content hash
 * recomputed from the event as shown.
 */
export function ProofPanel({ api, event }: { api: Api; event: Event }) {
  const [check, setCheck] = useState<Check>({ state: "checking" });
  useEffect(() => {
    const size = checkpointSizeOf(event.wormProofId);
    if (size === undefined) {
      setCheck({ state: "unsealed" });
      return;
    }
    let current = true;
    setCheck({ state: "checking" });
    (async (): Promise<Check> => {
      const [keys, answer, recomputed] = await Promise.all([
        verifierKeysOf(api),
        api.audit.getInclusionProof({ tenantId: event.tenantId, eventId: event.eventId, treeSize: size }),
        contentHashOf(event),
      ]);
      // The checkpoint verifies with the key that signed it: any of the listed ones.
      let verdict = await verifyInclusionProof(answer, keys[0], event.contentHash);
      for (const key of keys.slice(1)) {
        if (verdict.verified) break;
        verdict = await verifyInclusionProof(answer, key, event.contentHash);
      }
      if (!verdict.verified) return { state: "failed", reason: verdict.reason };
      return {
        state: "verified",
        size: verdict.checkpointSize,
        origin: verdict.origin,
        leafIndex: verdict.leafIndex,
        contentMatches: recomputed === event.contentHash,
      };
    })()
      .catch((err): Check => ({ state: "failed", reason: errorText(err) }))
      .then((result) => current && setCheck(result));
    return () => {
      current = false;
    };
  }, [api, event]);

  return (
    <section class={`section proof proof-${check.state}`} aria-label="Proof">
      <h3>Audit proof</h3>
      {check.state === "unsealed" ? (
        <p class="muted">
          Not yet in a signed checkpoint: the log takes events in about every second. Reopen the event to check again.
        </p>
      ) : check.state === "checking" ? (
        <p class="muted">Checking the inclusion proof…</p>
      ) : check.state === "failed" ? (
        <p class="proof-verdict bad" role="alert">
          Not verified: {check.reason}
        </p>
      ) : (
        <>
          <p class="proof-verdict good">
            <span aria-hidden="true">✓ </span>Verified in checkpoint {check.size.toString()}
          </p>
          <p class="muted small">
            Leaf {check.leafIndex.toString()} of {check.origin}, signed with the server's published key; checked in this
            page.{" "}
            {purgeReasonOf(event) !== undefined
              ? `This event's content was purged (${purgeReasonOf(event)}): the proof holds the hash of the event as it was stored.`
              : check.contentMatches
                ? "The event shown hashes to its content hash."
                : "The event shown could not be re-hashed to its content hash in the page (see docs/dashboard.md)."}
          </p>
        </>
      )}
      {event.contentHash ? (
        <p class="hash small" title="content_hash">
          {event.contentHash}
        </p>
      ) : null}
    </section>
  );
}
