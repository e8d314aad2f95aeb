import type { MessageInitShape } from "@bufbuild/protobuf";
import { useEffect, useRef, useState } from "preact/hooks";
import type { Event } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import type { QueryFilterSchema } from "../../gen/chaukas/spec/common/v1/query_pb.ts";
import { type Api, errorText } from "./api.ts";

export type LiveState =
  | { state: "off" }
  | { state: "connecting" }
  | { state: "following" }
  | { state: "failed"; reason: string };

export interface LiveHandlers {
  /** Each new event, in the order stored. */
  onEvent: (event: Event) => void;
  /**
   * The tail is open: every event stored from now on reaches onEvent. A view reads its snapshot
   * again here, so what was stored between its first read and this moment is not missed.
   */
  onOpen: () => void;
}

/** Events the dashboard takes in one response: the server's cap, so a busy tail costs few messages. */
const EVENTS_PER_MESSAGE = 500;

/**
 * Follows the events matching `filter` (TailService.TailEvents) while `enabled`. The server's first
 * item says the tail is open (onOpen, then "following"). When the server ends the stream (time
 * limit, slow reader, restart) it resumes from the last cursor after a pause, so nothing is missed
 * or seen twice.
 */
export function useLiveTail(
  api: Api,
  filter: MessageInitShape<typeof QueryFilterSchema>,
  enabled: boolean,
  handlers: LiveHandlers,
): LiveState {
  const [state, setState] = useState<LiveState>({ state: "off" });
  const handler = useRef(handlers);
  handler.current = handlers;
  const filterKey = JSON.stringify(filter, (_, value) => (typeof value === "bigint" ? String(value) : value));

  useEffect(() => {
    if (!enabled) {
      setState({ state: "off" });
      return;
    }
    const abort = new AbortController();
    let cursor = "";
    const follow = async () => {
      while (!abort.signal.aborted) {
        try {
          if (cursor === "") setState({ state: "connecting" });
          const fromNow = cursor === "";
          let first = true;
          for await (const item of api.tail.tailEvents(
            { filter: { ...filter, time: undefined }, cursor, maxEventsPerMessage: EVENTS_PER_MESSAGE },
            { signal: abort.signal },
          )) {
            if (first) {
              first = false;
              setState({ state: "following" });
              if (fromNow) handler.current.onOpen();
            }
            if (item.cursor) cursor = item.cursor;
            if (item.item.case === "events") for (const event of item.item.value.events) handler.current.onEvent(event);
          }
        } catch (err) {
          if (abort.signal.aborted) return;
          setState({ state: "failed", reason: errorText(err) });
        }
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    };
    void follow();
    return () => abort.abort();
    // The filter is compared by value (filterKey): a new object with the same fields is the same tail.
  }, [api, filterKey, enabled]);
  return state;
}
