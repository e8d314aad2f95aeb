/** A Connect JSON call (`POST /<service>/<method>`), as curl makes it: the status and the decoded answer. */
export async function connectJson(
  baseUrl: string,
  path: string,
  body: unknown,
  key: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${baseUrl}/${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

export const SERVER_SERVICE = "chaukas.spec.server.v1.ChaukasServerService";
export const AUDIT_SERVICE = "chaukas.backend.v1.AuditService";
