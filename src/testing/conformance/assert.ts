/**
 * Tiny assertion helpers for the conformance suite. Plain JavaScript that throws Errors, so the
 * suite runs unchanged under vitest (Node, workerd, browser), `bun test` and `deno test`.
 */

/** Thrown by every helper; the message says what was expected and what was found. */
export class AssertionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AssertionError";
  }
}

const tag = (v: unknown): string => Object.prototype.toString.call(v);
// Realm-safe: a Date that crossed a structured clone or an RPC boundary may come from another realm.
const isDate = (v: unknown): v is Date => tag(v) === "[object Date]";

/** Renders a value for messages: JSON where possible, with Dates as ISO strings. */
export function show(value: unknown): string {
  if (value === undefined) return "undefined";
  if (isDate(value)) return `Date(${Number.isNaN(value.getTime()) ? "invalid" : value.toISOString()})`;
  try {
    return JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? `${v}n` : v)) ?? String(value);
  } catch {
    return String(value);
  }
}

function fail(message: string, context?: string): never {
  throw new AssertionError(context ? `${context}: ${message}` : message);
}

/** Fails unless `condition` is truthy. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) fail(message);
}

/** Object.is equality. */
export function assertEqual<T>(actual: unknown, expected: T, context?: string): asserts actual is T {
  if (!Object.is(actual, expected)) fail(`expected ${show(expected)}, got ${show(actual)}`, context);
}

/** Fails when `actual` is null or undefined. */
export function assertPresent<T>(actual: T | null | undefined, context?: string): asserts actual is T {
  if (actual === null || actual === undefined) fail(`expected a value, got ${show(actual)}`, context);
}

/** Structural equality of JSON-like values and Dates; reports the first differing path. */
export function assertDeepEqual(actual: unknown, expected: unknown, context?: string): void {
  const diff = firstDifference(actual, expected, "$");
  if (diff) fail(diff, context);
}

/** Checks that `value` is a Date at the given epoch ms (or null when `expected` is null). */
export function assertDate(value: unknown, expected: number | null, context?: string): void {
  if (expected === null) {
    if (value !== null) fail(`expected null, got ${show(value)}`, context);
    return;
  }
  if (!isDate(value)) fail(`expected a Date, got ${show(value)} (${tag(value)})`, context);
  if (value.getTime() !== expected) fail(`expected ${new Date(expected).toISOString()}, got ${show(value)}`, context);
}

/** Fails unless `fn` rejects (or throws). Returns the error. */
export async function assertRejects(fn: () => Promise<unknown>, context?: string): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  return fail("expected a rejection, but the call succeeded", context);
}

function firstDifference(a: unknown, b: unknown, path: string): string | null {
  if (Object.is(a, b)) return null;
  if (isDate(a) || isDate(b)) {
    if (isDate(a) && isDate(b) && a.getTime() === b.getTime()) return null;
    return `${path}: expected ${show(b)}, got ${show(a)}`;
  }
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) {
    return `${path}: expected ${show(b)}, got ${show(a)}`;
  }
  if (Array.isArray(a) !== Array.isArray(b)) return `${path}: expected ${show(b)}, got ${show(a)}`;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return `${path}: expected an array of length ${b.length}, got ${a.length}: ${show(a)}`;
    for (let i = 0; i < a.length; i++) {
      const d = firstDifference(a[i], b[i], `${path}[${i}]`);
      if (d) return d;
    }
    return null;
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const aKeys = Object.keys(ao).filter((k) => ao[k] !== undefined).sort();
  const bKeys = Object.keys(bo).filter((k) => bo[k] !== undefined).sort();
  for (const k of bKeys) if (!(k in ao) || ao[k] === undefined) return `${path}.${k}: missing (expected ${show(bo[k])})`;
  for (const k of aKeys) if (!(k in bo) || bo[k] === undefined) return `${path}.${k}: unexpected (got ${show(ao[k])})`;
  for (const k of bKeys) {
    const d = firstDifference(ao[k], bo[k], `${path}.${k}`);
    if (d) return d;
  }
  return null;
}
