import type { FieldViolation } from "../../lib/errors.ts";
import { InvalidArgumentError } from "../../lib/errors.ts";
import { DETECTOR_NAMES, DETECTORS } from "./detectors.ts";

/** What is done to a value: replaced by a fixed text, by its keyed hash, or removed. */
export const METHODS = ["mask", "hash", "drop"] as const;
export type Method = (typeof METHODS)[number];

/** A path into the event (proto field names and Struct keys, dot-separated, no list indexes). */
export interface FieldRule {
  path: string;
  method: string;
}

/** Rules at one level: a method or "off" per detector, and the fields always redacted. */
export interface RuleLevel {
  detectors: Record<string, string>;
  fields: FieldRule[];
}

/** A tenant's rules (docs/redaction.md): its own, and per project what changes for that project. */
export interface RedactionRules extends RuleLevel {
  projects: Record<string, RuleLevel>;
}

/** The rules of a tenant that never set any: every credential detector on, masking. */
export const DEFAULT_RULES: RedactionRules = { detectors: {}, fields: [], projects: {} };

/** The rules that apply to one project, merged: its detectors and fields over the tenant's. */
export interface EffectiveRules {
  detectors: Map<string, Method>;
  fields: Map<string, Method>;
}

/** Checks rules as an admin sent them (RPC or file); throws InvalidArgumentError naming each problem. */
export function checkedRules(rules: Partial<RedactionRules>): RedactionRules {
  const violations: FieldViolation[] = [];
  const level = (given: Partial<RuleLevel> | undefined, at: string): RuleLevel => {
    const detectors = { ...(given?.detectors ?? {}) };
    for (const [name, method] of Object.entries(detectors)) {
      if (!DETECTOR_NAMES.includes(name)) {
        violations.push({
          field: `${at}detectors.${name}`,
          description: `is not a detector (${DETECTOR_NAMES.join(", ")})`,
        });
      }
      if (method !== "off" && !isMethod(method)) {
        violations.push({ field: `${at}detectors.${name}`, description: "must be mask, hash, drop or off" });
      }
    }
    const fields = (given?.fields ?? []).map((f, i) => {
      const path = normalPath(f.path ?? "");
      if (!/^[^.]+(\.[^.]+)*$/.test(path))
        violations.push({ field: `${at}fields[${i}].path`, description: "is not a path" });
      if (!isMethod(f.method))
        violations.push({ field: `${at}fields[${i}].method`, description: "must be mask, hash or drop" });
      return { path, method: f.method };
    });
    return { detectors, fields };
  };
  const checked = { ...level(rules, ""), projects: {} as Record<string, RuleLevel> };
  for (const [project, projectRules] of Object.entries(rules.projects ?? {})) {
    if (project === "") violations.push({ field: "projects", description: "has an empty project id" });
    checked.projects[project] = level(projectRules, `projects.${project}.`);
  }
  if (violations.length > 0) throw new InvalidArgumentError(violations);
  return checked;
}

/** The rules for one project of the tenant: defaults, then the tenant's, then the project's. */
export function effectiveRules(rules: RedactionRules, projectId: string): EffectiveRules {
  const detectors = new Map<string, Method>();
  for (const d of DETECTORS) if (d.kind === "credential") detectors.set(d.name, "mask");
  const fields = new Map<string, Method>();
  for (const level of [rules, rules.projects[projectId]]) {
    if (level === undefined) continue;
    for (const [name, method] of Object.entries(level.detectors)) {
      if (isMethod(method)) detectors.set(name, method);
      else detectors.delete(name);
    }
    for (const f of level.fields) if (isMethod(f.method)) fields.set(f.path, f.method);
  }
  return { detectors, fields };
}

/** Whether any level of the rules hashes: then the tenant needs its HMAC secret. */
export function usesHash(rules: RedactionRules): boolean {
  const levels = [rules, ...Object.values(rules.projects)];
  return levels.some((l) => Object.values(l.detectors).includes("hash") || l.fields.some((f) => f.method === "hash"));
}

/** A path as rules and matching use it: list indexes removed (`tags[2]` is `tags`). */
export function normalPath(path: string): string {
  return path.replace(/\[\d+\]/g, "");
}

function isMethod(value: string): value is Method {
  return (METHODS as readonly string[]).includes(value);
}
