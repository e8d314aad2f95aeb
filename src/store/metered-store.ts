import type { Metrics } from "../lib/metrics.ts";
import type { Database } from "./database.ts";

/**
 * The store with each asynchronous operation timed for `metrics`, named by its method
 * (`insertEvents`, `audit.integrate`, `keys.findKey`): a fixed set, whatever the arguments.
 */
export function meteredStore(store: Database, metrics: Metrics): Database {
  return timed(store, "", metrics, {
    audit: timed(store.audit, "audit.", metrics),
    keys: timed(store.keys, "keys.", metrics),
    redaction: timed(store.redaction, "redaction.", metrics),
    retention: timed(store.retention, "retention.", metrics),
    signingKeys: timed(store.signingKeys, "signingKeys.", metrics),
  });
}

function timed<T extends object>(target: T, prefix: string, metrics: Metrics, parts: Partial<T> = {}): T {
  return new Proxy(target, {
    get(object, name) {
      if (Object.hasOwn(parts, name)) return parts[name as keyof T];
      const value = Reflect.get(object, name, object);
      if (typeof value !== "function" || typeof name !== "string") return value;
      return (...args: unknown[]) => {
        const start = performance.now();
        const result = value.apply(object, args);
        if (!(result instanceof Promise)) return result;
        const record = () => metrics.storeOperation(`${prefix}${name}`, (performance.now() - start) / 1000);
        return result.finally(record);
      };
    },
  });
}
