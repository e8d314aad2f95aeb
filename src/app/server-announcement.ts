import { readFileSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";

/**
 * A server on the embedded database holds its data directory alone, so the CLI run in the same
 * directory administers through the server instead (AdminService): the server announces its
 * address in this file while it listens.
 */
const FILE = "server.json";

export interface Announcement {
  /** Where the server listens, as a loopback address when it listens on every interface. */
  url: string;
  pid: number;
}

/** Writes the announcement (readable only by the owner); returns the function that removes it. */
export function announceServer(dataDir: string, address: AddressInfo, tls: boolean): () => void {
  const path = join(dataDir, FILE);
  const wildcard = address.address === "0.0.0.0" || address.address === "::";
  const host = wildcard ? "127.0.0.1" : address.family === "IPv6" ? `[${address.address}]` : address.address;
  const announcement: Announcement = { url: `${tls ? "https" : "http"}://${host}:${address.port}`, pid: process.pid };
  writeFileSync(path, `${JSON.stringify(announcement)}\n`, { mode: 0o600 });
  return () => rmSync(path, { force: true });
}

/** The server announced in `dataDir`, if its process still runs (a killed one leaves its file). */
export function announcedServer(dataDir: string): Announcement | undefined {
  let announcement: Announcement;
  try {
    announcement = JSON.parse(readFileSync(join(dataDir, FILE), "utf8"));
  } catch {
    return undefined;
  }
  try {
    process.kill(announcement.pid, 0);
    return announcement;
  } catch (err) {
    // EPERM: it runs, as another user.
    return (err as NodeJS.ErrnoException).code === "EPERM" ? announcement : undefined;
  }
}
