/**
 * `promise`, or a rejection after `ms` if it has not settled by then: behind a silent network (a
 * partition, a hung host) a database call may never settle. A late failure is ignored.
 */
export function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  promise.catch(() => {});
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
