/**
 * Checks that a value survives JSON unchanged and returns a deep copy of it, in one walk.
 * Stores are JSON or structured-clone based; rejecting what JSON would silently change
 * (Dates, Maps, NaN, functions, cycles) keeps a job identical in every driver.
 */
import type { ValidationIssue } from "./errors.ts";

/** Returns a detached copy of `value`, or pushes an issue per offending field into `issues`. */
export function cloneJson(value: unknown, path: string, issues: ValidationIssue[]): unknown {
  // Almost every value is valid: copy it without building a path string per field or tracking
  // ancestors in a Set, and redo the walk with both only when something is wrong (or deep).
  const copy = copyPlain(value, 0);
  if (copy !== INVALID) return copy;
  return walk(value, path, issues, new Set());
}

/** Returned by {@link copyPlain} when the value needs the checking walk. */
const INVALID: unique symbol = Symbol("invalid");
/**
 * Beyond this nesting the fast copy gives up: a cycle then ends in the checking walk, which
 * names it, instead of in a stack overflow.
 */
const FAST_DEPTH = 64;

/** The copy of {@link walk} for valid values; INVALID at the first value that walk would report. */
function copyPlain(value: unknown, depth: number): unknown {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      return Number.isFinite(value) ? value : INVALID;
    case "object":
      break;
    default:
      return INVALID;
  }
  if (value === null) return null;
  if (depth >= FAST_DEPTH) return INVALID;
  if (Array.isArray(value)) {
    const out = new Array(value.length);
    for (let i = 0; i < value.length; i++) {
      const v = copyPlain(value[i], depth + 1);
      if (v === INVALID) return INVALID;
      out[i] = v;
    }
    return out;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return INVALID;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const v = (value as Record<string, unknown>)[key];
    if (v === undefined) continue;
    const copy = copyPlain(v, depth + 1);
    if (copy === INVALID) return INVALID;
    setKey(out, key, copy);
  }
  return out;
}

/** `out[key] = value`, except that a "__proto__" key (JSON.parse makes it an own key) stays data instead of setting the prototype. */
function setKey(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}

function walk(value: unknown, path: string, issues: ValidationIssue[], seen: Set<object>): unknown {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      if (!Number.isFinite(value)) issues.push({ path, message: `${value} is not a finite number (JSON would store null)` });
      return value;
    case "bigint":
      issues.push({ path, message: "a BigInt is not JSON-serializable (use a string)" });
      return undefined;
    case "function":
      issues.push({ path, message: "a function is not JSON-serializable" });
      return undefined;
    case "symbol":
      issues.push({ path, message: "a symbol is not JSON-serializable" });
      return undefined;
    case "undefined":
      issues.push({ path, message: "undefined is not JSON-serializable (use null or omit the field)" });
      return undefined;
  }
  if (value === null) return null;
  const obj = value as object;
  if (seen.has(obj)) {
    issues.push({ path, message: "circular reference" });
    return undefined;
  }
  if (Array.isArray(obj)) {
    seen.add(obj);
    const out = new Array(obj.length);
    for (let i = 0; i < obj.length; i++) out[i] = walk(obj[i], `${path}[${i}]`, issues, seen);
    seen.delete(obj);
    return out;
  }
  const proto = Object.getPrototypeOf(obj);
  if (proto !== Object.prototype && proto !== null) {
    const kind = obj instanceof Date ? "a Date (use toISOString())" : `a ${obj.constructor?.name ?? "class"} instance`;
    issues.push({ path, message: `${kind} is not plain JSON` });
    return undefined;
  }
  seen.add(obj);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(obj)) {
    const v = (obj as Record<string, unknown>)[key];
    // An absent optional property is common in TypeScript objects; JSON drops it, nothing is lost.
    if (v === undefined) continue;
    setKey(out, key, walk(v, `${path}.${key}`, issues, seen));
  }
  seen.delete(obj);
  return out;
}
