/** Backoff maths, the JSON-lines logger, silentLogger, errors and the JSON check. */
import { describe, expect, test } from "vitest";
import {
  JobValidationError,
  PorticoError,
  StorageError,
  UnknownJobTypeError,
  backoffDelay,
  createJsonLogger,
  jsonLogger,
  silentLogger,
  type ValidationIssue,
} from "../../src/core/index.ts";
import { cloneJson } from "../../src/core/json.ts";
import { randomId, uuidFromBytes } from "../../src/core/random-id.ts";
import { formatIssuePath } from "../../src/core/standard-schema.ts";

describe("backoffDelay", () => {
  test("exponential without jitter doubles from baseMs", () => {
    const delays = [0, 1, 2, 3, 4].map((n) => backoffDelay(n, { baseMs: 100, jitter: false }));
    expect(delays).toEqual([100, 200, 400, 800, 1_600]);
  });

  test("defaults: exponential from 1 s, capped at 5 minutes", () => {
    expect(backoffDelay(0, { jitter: false })).toBe(1_000);
    expect(backoffDelay(3, { jitter: false })).toBe(8_000);
    expect(backoffDelay(20, { jitter: false })).toBe(300_000);
  });

  test("maxMs caps the delay, also for huge retry counts", () => {
    expect(backoffDelay(10, { baseMs: 100, maxMs: 5_000, jitter: false })).toBe(5_000);
    expect(backoffDelay(5_000, { baseMs: 100, maxMs: 5_000, jitter: false })).toBe(5_000);
    expect(Number.isFinite(backoffDelay(1e6, { jitter: false }))).toBe(true);
  });

  test("fixed keeps baseMs for every retry", () => {
    expect([0, 1, 7].map((n) => backoffDelay(n, { type: "fixed", baseMs: 250, jitter: false }))).toEqual([250, 250, 250]);
    expect(backoffDelay(3, { type: "fixed", baseMs: 9_000, maxMs: 1_000, jitter: false })).toBe(1_000);
  });

  test("jitter (the default) spreads the delay over [delay/2, delay]", () => {
    expect(backoffDelay(2, { baseMs: 100 }, () => 0)).toBe(200);
    expect(backoffDelay(2, { baseMs: 100 }, () => 0.5)).toBe(300);
    expect(backoffDelay(2, { baseMs: 100 }, () => 0.999999)).toBeCloseTo(400, 3);
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(3, { baseMs: 10 });
      expect(d).toBeGreaterThanOrEqual(40);
      expect(d).toBeLessThanOrEqual(80);
    }
  });
});

describe("logger", () => {
  test("createJsonLogger writes one JSON line per event with time, level, event and fields", () => {
    const lines: string[] = [];
    const log = createJsonLogger({ level: "debug", write: (l) => lines.push(l) });
    log.debug("job.completed", { jobId: "j1", durationMs: 3 });
    log.error("job.failed", { jobId: "j2", error: new TypeError("bad input") });
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line).not.toContain("\n");
    const [a, b] = lines.map((l) => JSON.parse(l));
    expect(a).toMatchObject({ level: "debug", event: "job.completed", jobId: "j1", durationMs: 3 });
    expect(new Date(a.time).toISOString()).toBe(a.time);
    // Errors keep their name and message instead of serializing to {}.
    expect(b).toMatchObject({ level: "error", event: "job.failed", error: { name: "TypeError", message: "bad input" } });
  });

  test("levels below the threshold are dropped (default: info)", () => {
    const lines: string[] = [];
    const log = createJsonLogger({ write: (l) => lines.push(l) });
    log.debug("dropped");
    log.info("kept.info");
    log.warn("kept.warn");
    const warnOnly = createJsonLogger({ level: "warn", write: (l) => lines.push(l) });
    warnOnly.info("dropped.too");
    warnOnly.error("kept.error");
    expect(lines.map((l) => JSON.parse(l).event)).toEqual(["kept.info", "kept.warn", "kept.error"]);
  });

  test("silentLogger drops everything and jsonLogger has the four methods", () => {
    for (const logger of [silentLogger, jsonLogger]) {
      for (const m of ["debug", "info", "warn", "error"] as const) expect(typeof logger[m]).toBe("function");
    }
    expect(() => silentLogger.error("anything", { error: new Error("x") })).not.toThrow();
  });
});

describe("errors", () => {
  test("every error is a PorticoError with a stable code and its own name", () => {
    const unknown = new UnknownJobTypeError("x.y", ["a", "b"]);
    const invalid = new JobValidationError("x.y", [{ path: "payload.a", message: "bad" }]);
    const storage = new StorageError("disk full", { cause: new Error("ENOSPC") });
    expect(unknown).toBeInstanceOf(PorticoError);
    expect(unknown).toBeInstanceOf(Error);
    expect([unknown.code, invalid.code, storage.code]).toEqual(["unknown_job_type", "validation_failed", "storage_error"]);
    expect([unknown.name, invalid.name, storage.name]).toEqual(["UnknownJobTypeError", "JobValidationError", "StorageError"]);
    expect(unknown.message).toMatch(/"x\.y".*known: a, b/);
    expect(invalid.message).toBe('Invalid job "x.y": payload.a: bad');
    expect((storage.cause as Error).message).toBe("ENOSPC");
  });
});

describe("cloneJson and issue paths", () => {
  test("returns a detached deep copy of valid JSON", () => {
    const input = { a: [1, { b: "ü" }], c: null, d: true };
    const issues: ValidationIssue[] = [];
    const out = cloneJson(input, "payload", issues) as typeof input;
    expect(issues).toEqual([]);
    expect(out).toEqual(input);
    expect(out).not.toBe(input);
    expect(out.a).not.toBe(input.a);
  });

  test("objects without a prototype are plain JSON; class instances are not", () => {
    const bare = Object.assign(Object.create(null), { x: 1 });
    const issues: ValidationIssue[] = [];
    cloneJson({ bare, set: new Set([1]), buf: new Uint8Array(2) }, "payload", issues);
    expect(issues.map((i) => i.path)).toEqual(["payload.set", "payload.buf"]);
  });

  test("a parsed \"__proto__\" key stays a data key and does not change the copy's prototype", () => {
    const input = JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}');
    const issues: ValidationIssue[] = [];
    const out = cloneJson(input, "payload", issues) as Record<string, unknown>;
    expect(issues).toEqual([]);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect((out as { polluted?: unknown }).polluted).toBeUndefined();
    expect(Object.keys(out)).toEqual(["__proto__", "ok"]);
    expect(JSON.stringify(out)).toBe(JSON.stringify(input));
    // The checking walk (taken when something is wrong) keeps it as data too.
    const mixed = JSON.parse('{"__proto__": {"polluted": true}}') as Record<string, unknown>;
    mixed.fn = () => 1;
    const checked = cloneJson(mixed, "payload", issues) as Record<string, unknown>;
    expect(issues.map((i) => i.path)).toEqual(["payload.fn"]);
    expect(Object.getPrototypeOf(checked)).toBe(Object.prototype);
    expect(Object.keys(checked)).toContain("__proto__");
  });

  test("formatIssuePath renders keys and indexes, including PathSegment objects", () => {
    expect(formatIssuePath("payload", ["items", 2, { key: "qty" }])).toBe("payload.items[2].qty");
    expect(formatIssuePath("payload", undefined)).toBe("payload");
  });
});

describe("randomId", () => {
  const v4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

  test("works where randomUUID is missing (plain-http pages): unique v4 ids from getRandomValues", () => {
    const original = crypto.randomUUID;
    Object.defineProperty(crypto, "randomUUID", { value: undefined, configurable: true, writable: true });
    try {
      const ids = new Set(Array.from({ length: 1000 }, () => randomId()));
      expect(ids.size).toBe(1000);
      for (const id of ids) expect(id).toMatch(v4);
    } finally {
      Object.defineProperty(crypto, "randomUUID", { value: original, configurable: true, writable: true });
    }
  });

  test("sets the version and variant bits on any bytes", () => {
    expect(uuidFromBytes(new Uint8Array(16).fill(0xff))).toBe("ffffffff-ffff-4fff-bfff-ffffffffffff");
    expect(uuidFromBytes(new Uint8Array(16))).toBe("00000000-0000-4000-8000-000000000000");
    expect(randomId()).toMatch(v4);
  });
});
