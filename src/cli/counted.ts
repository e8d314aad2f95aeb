/** `1 event`, `3 events`: a count and its noun, singular or plural as the count says. */
export function counted(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}
