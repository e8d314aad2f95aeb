/** A plain JSON client of the public REST API, as curl or any HTTP library would call it. */

export interface RestAnswer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: a test reads any JSON answer
  body: any;
}

export async function restGet(baseUrl: string, path: string): Promise<RestAnswer> {
  const response = await fetch(`${baseUrl}${path}`);
  return { status: response.status, headers: response.headers, body: await response.json() };
}

/** POSTs `body` as JSON (a string is sent as it is, for malformed input). */
export async function restPost(baseUrl: string, path: string, body: unknown): Promise<RestAnswer> {
  const response = await fetch(`${baseUrl}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: await response.json() };
}

/** A minimal valid REST event, in the published API's spelling; override any property. */
export function restEvent(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    event_id: `rest-${Math.random().toString(36).slice(2)}`,
    tenant_id: "rest-tenant",
    project_id: "rest-project",
    session_id: "rest-session",
    type: "SESSION_START",
    status: "STARTED",
    timestamp: "2026-02-03T04:05:06.123456789Z",
    ...overrides,
  };
}
