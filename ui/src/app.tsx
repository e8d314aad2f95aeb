import { useEffect, useMemo, useState } from "preact/hooks";
import { type Api, createApi } from "./api.ts";
import { forgetKey, storedKey, storeKey } from "./auth.ts";
import { navigate, onLinkClick, useLocation } from "./router.ts";
import { SessionView } from "./views/session-view.tsx";
import { SessionsView } from "./views/sessions-view.tsx";
import { SignIn } from "./views/sign-in.tsx";
import { StatsView } from "./views/stats-view.tsx";

/** The dashboard: sign in, then sessions, one session, statistics, each at its own URL. */
export function App() {
  const [key, setKey] = useState(storedKey);
  const place = useLocation();
  const api = useMemo(() => (key ? createApi(key) : undefined), [key]);
  // The bare address opens the sessions list, at its own URL. In an effect: the location's
  // listener is only subscribed once the first render is done.
  useEffect(() => {
    if (place.path === "/") navigate(`/sessions${location.search}`, { replace: true });
  }, [place.path]);

  if (!api) {
    return (
      <SignIn
        onSignedIn={(accepted) => {
          storeKey(accepted);
          setKey(accepted);
        }}
      />
    );
  }
  const signOut = () => {
    forgetKey();
    setKey(null);
  };
  const session = /^\/sessions\/(.+)$/.exec(place.path);
  const section = place.path === "/stats" ? "stats" : place.path.startsWith("/sessions") ? "sessions" : undefined;
  return (
    <div class="shell">
      <header class="topbar">
        <a class="brand" href="/sessions" onClick={onLinkClick}>
          <span class="brand-mark" aria-hidden="true" />
          Chaukas
        </a>
        <nav>
          <a href="/sessions" onClick={onLinkClick} aria-current={section === "sessions" ? "page" : undefined}>
            Sessions
          </a>
          <a href="/stats" onClick={onLinkClick} aria-current={section === "stats" ? "page" : undefined}>
            Statistics
          </a>
        </nav>
        <button type="button" class="ghost" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main>{view(api, place.path, session?.[1], place.params, signOut)}</main>
    </div>
  );
}

function view(api: Api, path: string, sessionId: string | undefined, params: URLSearchParams, signOut: () => void) {
  if (sessionId)
    return <SessionView api={api} sessionId={decodeURIComponent(sessionId)} params={params} onAuthFailed={signOut} />;
  if (path === "/stats") return <StatsView api={api} params={params} onAuthFailed={signOut} />;
  if (path === "/sessions") return <SessionsView api={api} params={params} onAuthFailed={signOut} />;
  if (path === "/") return null;
  return <NotFound path={path} />;
}

function NotFound({ path }: { path: string }) {
  return (
    <section class="view">
      <div class="empty">
        <h1>Page not found</h1>
        <p>
          The dashboard has no page at <code>{path}</code>.
        </p>
        <p>
          <a href="/sessions" onClick={onLinkClick}>
            Go to the sessions
          </a>
        </p>
      </div>
    </section>
  );
}
