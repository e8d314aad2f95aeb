import { useEffect, useState } from "preact/hooks";

/** Every view is a URL: the path names the view, the query string holds its filters. */

const listeners = new Set<() => void>();
window.addEventListener("popstate", () => {
  for (const listener of listeners) listener();
});

/** Goes to `url` (path and query) and re-renders the views that read the location. */
export function navigate(url: string, options: { replace?: boolean } = {}): void {
  if (url === location.pathname + location.search) return;
  if (options.replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  for (const listener of listeners) listener();
}

export interface Place {
  path: string;
  params: URLSearchParams;
}

export function useLocation(): Place {
  const [place, setPlace] = useState(currentPlace);
  useEffect(() => {
    const update = () => setPlace(currentPlace());
    listeners.add(update);
    return () => void listeners.delete(update);
  }, []);
  return place;
}

function currentPlace(): Place {
  return { path: location.pathname, params: new URLSearchParams(location.search) };
}

/** `path?query`, leaving out empty parameters. */
export function urlOf(path: string, params: Record<string, string | undefined>): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value) query.set(name, value);
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

/** A link that navigates in the page; a modified click still opens a new tab. */
export function onLinkClick(event: MouseEvent): void {
  const anchor = (event.currentTarget as HTMLAnchorElement | null) ?? undefined;
  if (!anchor || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(anchor.getAttribute("href") ?? "/");
}
