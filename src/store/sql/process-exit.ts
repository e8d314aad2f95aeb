import { readFileSync } from "node:fs";

/** The kernel's flag of a task in do_exit (include/linux/sched.h). */
const PF_EXITING = 0x4;
/** SIGKILL's bit in the pending-signal masks of /proc/<pid>/status. */
const SIGKILL_BIT = 1n << 8n;

/**
 * Whether process `pid` is on its way out: killed (SIGKILL pending), tearing down, or a zombie.
 * Such a process can hold its files, and their locks, for a second or two while the kernel frees
 * its memory. Read from Linux's /proc; false where that cannot tell (another OS, no such process).
 */
export function isExiting(pid: number): boolean {
  let stat: string;
  let status: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return false;
  }
  // "pid (comm) state ppid pgrp session tty_nr tpgid flags ...": comm may hold spaces and parentheses.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  if (fields[0] === "Z" || fields[0] === "X") return true;
  if ((Number(fields[6]) & PF_EXITING) !== 0) return true;
  return ["SigPnd", "ShdPnd"].some((name) => {
    const mask = new RegExp(`^${name}:\\s*([0-9a-f]+)$`, "m").exec(status)?.[1];
    return mask !== undefined && (BigInt(`0x${mask}`) & SIGKILL_BIT) !== 0n;
  });
}
