import { useState } from "preact/hooks";
import { createApi, errorText } from "../api.ts";

/**
 * The API key form. The key is tried with one small read before it is kept, so a wrong key (or
 * one that may not read) is said at once; what it may see afterwards is the server's decision (role, tenant, projects).
 * A server run with --insecure-no-auth takes any key; its views then need a tenant in their filters.
 */
export function SignIn({ onSignedIn }: { onSignedIn: (key: string) => void }) {
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    const key = String(new FormData(event.currentTarget as HTMLFormElement).get("key") ?? "").trim();
    if (!key) return setError("Enter an API key.");
    setBusy(true);
    setError("");
    try {
      // GetCapabilities needs a key that may read: what every view needs.
      await createApi(key).events.getCapabilities({});
      onSignedIn(key);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="signin">
      <form class="card signin-card" onSubmit={submit}>
        <div class="brand">
          <span class="brand-mark" aria-hidden="true" />
          Chaukas
        </div>
        <h1>Sign in</h1>
        <p class="muted">With an API key of this server, kept in this tab only. A read key is made with:</p>
        <code class="command">
          npx chaukas keys create --tenant <var>tenant</var> --role read
        </code>
        <label for="key">API key</label>
        <input id="key" name="key" type="password" autoComplete="off" spellcheck={false} />
        {error ? (
          <p class="error" role="alert">
            {error}
          </p>
        ) : null}
        <button type="submit" disabled={busy}>
          {busy ? "Checking…" : "Sign in"}
        </button>
      </form>
    </div>
  );
}
