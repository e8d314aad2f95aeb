import { isIP } from "node:net";

/** Whether binding `host` serves this machine only: `localhost`, `::1` or an IPv4 address in 127.0.0.0/8. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || (isIP(host) === 4 && host.startsWith("127."));
}
