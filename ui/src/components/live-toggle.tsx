import type { LiveState } from "../live.ts";
import { navigate, urlOf } from "../router.ts";

const LABELS: Record<LiveState["state"], string> = {
  off: "Live",
  connecting: "Live: connecting",
  following: "Live",
  failed: "Live: reconnecting",
};

/** The "Live" switch: `live=1` in the URL follows new events; its state says whether the tail is running. */
export function LiveToggle({ path, params, live }: { path: string; params: URLSearchParams; live: LiveState }) {
  const on = params.get("live") === "1";
  const toggle = () => {
    const next = Object.fromEntries(params);
    next.live = on ? "" : "1";
    navigate(urlOf(path, next), { replace: true });
  };
  const title =
    live.state === "failed" ? live.reason : on ? "Following new events" : "Follow new events as they arrive";
  return (
    <button type="button" class={`live-toggle ${live.state}`} aria-pressed={on} onClick={toggle} title={title}>
      <span class="live-dot" aria-hidden="true" />
      {on ? LABELS[live.state] : "Live off"}
    </button>
  );
}
