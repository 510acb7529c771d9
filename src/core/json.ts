/**
 * Checks that a value survives JSON unchanged and returns a deep copy of it, in one walk.
 * Stores are JSON or structured-clone based; rejecting what JSON would silently change
 * (Dates, Maps, NaN, functions, cycles) keeps a job identical in every driver. The same walk
 * enforces the input limits (nesting depth, JSON size), so hopeless input fails here, as a
 * validation issue, and never as a stack overflow or a storage error later.
 */
import type { ValidationIssue } from "./errors.ts";

/** Default most levels of nesting of a payload or metadata value (`{}` is one level). */
export const DEFAULT_MAX_DEPTH: number = 256;
/** Default largest payload, in bytes of its UTF-8 JSON (1 MiB). */
export const DEFAULT_MAX_PAYLOAD_BYTES: number = 1024 * 1024;

/** Input limits of {@link cloneJson}; `exceeded` is set when the value broke one of them. */
export interface JsonLimits {
  /** Most levels of nesting (default {@link DEFAULT_MAX_DEPTH}). */
  maxDepth?: number;
  /** Most bytes of the value's UTF-8 JSON (default: unlimited). */
  maxBytes?: number;
  /** Written by cloneJson: which limit the value broke, if any. */
  exceeded?: "size" | "depth";
}

/**
 * Returns a detached copy of `value`, or pushes an issue per offending field into `issues`.
 * Never recurses deeper than a small fixed bound, whatever the input's nesting.
 */
export function cloneJson(value: unknown, path: string, issues: ValidationIssue[], limits: JsonLimits = {}): unknown {
  const maxDepth = limits.maxDepth ?? DEFAULT_MAX_DEPTH;
  const maxBytes = limits.maxBytes ?? Infinity;
  // Almost every value is valid and shallow: copy it without building a path string per field
  // or tracking ancestors, and redo the walk with both only when something is wrong (or deep).
  fastDepth = Math.min(FAST_DEPTH, maxDepth);
  bound = 0;
  let copy = copyPlain(value, 0);
  if (copy === INVALID) {
    const before = issues.length;
    copy = walk(value, path, issues, maxDepth, limits);
    if (issues.length > before) return copy;
    // The fast copy stopped counting where it gave up: measure exactly.
    bound = Infinity;
  }
  // `bound` is an upper bound of the JSON size; serialise only when it could be over the limit.
  if (bound > maxBytes) {
    const bytes = utf8Length(JSON.stringify(copy) ?? "");
    if (bytes > maxBytes) {
      limits.exceeded = "size";
      issues.push({ path, message: `is ${bytes} bytes of JSON, more than the limit of ${maxBytes}` });
    }
  }
  return copy;
}

/** Returned by {@link copyPlain} when the value needs the checking walk. */
const INVALID: unique symbol = Symbol("invalid");
/**
 * Beyond this nesting the fast copy gives up and the iterative walk takes over, so recursion
 * stays shallow whatever the input.
 */
const FAST_DEPTH = 64;
let fastDepth = FAST_DEPTH;
/**
 * Upper bound of the JSON size seen so far (module state: the walks are synchronous). Six bytes
 * per UTF-16 unit covers the worst escape (`\u0000`) and any UTF-8 encoding.
 */
let bound = 0;
/** Longest JSON text of a finite number (e.g. -1.2345678901234567e-308). */
const NUMBER_BOUND = 24;

/** The copy of {@link walk} for valid values; INVALID at the first value that walk would report. */
function copyPlain(value: unknown, depth: number): unknown {
  switch (typeof value) {
    case "string":
      bound += value.length * 6 + 3;
      return value;
    case "boolean":
      bound += 6;
      return value;
    case "number":
      bound += NUMBER_BOUND;
      return Number.isFinite(value) ? value : INVALID;
    case "object":
      break;
    default:
      return INVALID;
  }
  bound += 5;
  if (value === null) return null;
  if (depth >= fastDepth) return INVALID;
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
    bound += key.length * 6 + 3;
    const copy = copyPlain(v, depth + 1);
    if (copy === INVALID) return INVALID;
    setKey(out, key, copy);
  }
  return out;
}

/** `out[key] = value`, except that a "__proto__" key (JSON.parse makes it an own key) stays data instead of setting the prototype. */
function setKey(out: Record<string, unknown>, key: string | number, value: unknown): void {
  if (key === "__proto__") Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else (out as Record<string | number, unknown>)[key] = value;
}

/** A container being copied by {@link walk}: its source, its copy, and how far along it is. */
interface Frame {
  src: object;
  out: Record<string | number, unknown>;
  /** Object keys, or null for an array. */
  keys: string[] | null;
  next: number;
  path: string;
}

/**
 * The checking walk: names every offending field, detects cycles, stops at `maxDepth`. Iterative
 * (an explicit stack of frames), so no input can overflow the call stack.
 */
function walk(value: unknown, path: string, issues: ValidationIssue[], maxDepth: number, limits: JsonLimits): unknown {
  const stack: Frame[] = [];
  const onStack = new Set<object>();
  /** Checks one value: a scalar is returned, a container gets a frame and its (empty) copy. */
  const visit = (v: unknown, at: string): unknown => {
    const scalar = checkScalar(v, at, issues);
    if (scalar !== INVALID) return scalar;
    const obj = v as object;
    if (onStack.has(obj)) {
      issues.push({ path: at, message: "circular reference" });
      return undefined;
    }
    const isArray = Array.isArray(obj);
    if (!isArray) {
      const proto = Object.getPrototypeOf(obj);
      if (proto !== Object.prototype && proto !== null) {
        const kind = obj instanceof Date ? "a Date (use toISOString())" : `a ${obj.constructor?.name ?? "class"} instance`;
        issues.push({ path: at, message: `${kind} is not plain JSON` });
        return undefined;
      }
    }
    if (stack.length >= maxDepth) {
      limits.exceeded = "depth";
      issues.push({ path, message: `nests deeper than the limit of ${maxDepth} levels (at ${at.length > 80 ? `${at.slice(0, 80)}...` : at})` });
      return undefined;
    }
    const out = isArray ? new Array((obj as unknown[]).length) : {};
    stack.push({ src: obj, out: out as Record<string | number, unknown>, keys: isArray ? null : Object.keys(obj), next: 0, path: at });
    onStack.add(obj);
    return out;
  };
  const root = visit(value, path);
  while (stack.length > 0) {
    // Past the depth limit nothing else is worth reporting: stop at the first such issue.
    if (limits.exceeded === "depth") break;
    const top = stack[stack.length - 1]!;
    const length = top.keys ? top.keys.length : (top.src as unknown[]).length;
    if (top.next >= length) {
      stack.pop();
      onStack.delete(top.src);
      continue;
    }
    const i = top.next++;
    if (top.keys) {
      const key = top.keys[i]!;
      const v = (top.src as Record<string, unknown>)[key];
      // An absent optional property is common in TypeScript objects; JSON drops it, nothing is lost.
      if (v === undefined) continue;
      setKey(top.out, key, visit(v, `${top.path}.${key}`));
    } else {
      top.out[i] = visit((top.src as unknown[])[i], `${top.path}[${i}]`);
    }
  }
  return root;
}

/** A scalar's copy (pushing an issue when JSON cannot hold it), or INVALID for an object. */
function checkScalar(value: unknown, path: string, issues: ValidationIssue[]): unknown {
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
  return value === null ? null : INVALID;
}

/** Bytes of `s` in UTF-8, without encoding it (a lone surrogate counts as U+FFFD, 3 bytes). */
export function utf8Length(s: string): number {
  let bytes = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 2; // a surrogate pair: 4 bytes for 2 units
      i++;
    } else bytes += 2;
  }
  return bytes;
}
