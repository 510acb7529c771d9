/**
 * JobService's input limits: payload/metadata size and nesting depth, and the name pattern of
 * queue names and job types. Each is a JobValidationError naming the field, raised before any
 * write; deep input never overflows the stack.
 */
import * as v from "valibot";
import { describe, expect, test } from "vitest";
import {
  DEFAULT_MAX_DEPTH,
  DEFAULT_MAX_PAYLOAD_BYTES,
  JobService,
  JobValidationError,
  NAME_PATTERN,
  type JobQueue,
  type ValidationIssue,
} from "../../src/core/index.ts";
import { cloneJson, utf8Length } from "../../src/core/json.ts";
import { MemoryJobQueue } from "../../src/drivers/memory.ts";

/** A memory queue that counts enqueue calls, to prove nothing was written. */
function setup(options: { maxPayloadBytes?: number; maxDepth?: number; schemas?: Record<string, v.GenericSchema> } = {}) {
  const queue = new MemoryJobQueue();
  let writes = 0;
  const counting: JobQueue = Object.create(queue, {
    enqueue: { value: (jobs: Parameters<JobQueue["enqueue"]>[0]) => (writes++, queue.enqueue(jobs)) },
  });
  const service = new JobService({ queue: counting, ...options });
  return { service, queue, writes: () => writes };
}

/** Nested objects `{ a: { a: ... } }` (or arrays) `levels` deep, built without recursion. */
function nested(levels: number, kind: "object" | "array" = "object"): unknown {
  let value: unknown = 1;
  for (let i = 0; i < levels; i++) value = kind === "object" ? { a: value } : [value];
  return value;
}

async function rejection(p: Promise<unknown>): Promise<JobValidationError> {
  const error = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(JobValidationError);
  return error as JobValidationError;
}

const encoder = new TextEncoder();
const jsonBytes = (value: unknown) => encoder.encode(JSON.stringify(value)).length;

describe("nesting depth", () => {
  test("the default is documented and the same whatever the store", () => {
    expect(DEFAULT_MAX_DEPTH).toBe(256);
    expect(DEFAULT_MAX_DEPTH).toBeGreaterThanOrEqual(100);
    expect(DEFAULT_MAX_DEPTH).toBeLessThanOrEqual(1_000);
  });

  test("256 levels are accepted, 257 are a JobValidationError with limit depth", async () => {
    const { service, writes } = setup();
    for (const kind of ["object", "array"] as const) {
      await expect(service.createJob("deep", nested(256, kind))).resolves.toMatchObject({ jobType: "deep" });
      const error = await rejection(service.createJob("deep", nested(257, kind)));
      expect(error.limit).toBe("depth");
      expect(error.code).toBe("validation_failed");
      expect(error.issues).toHaveLength(1);
      expect(error.issues[0]!.path).toBe("payload");
      expect(error.issues[0]!.message).toMatch(/deeper than the limit of 256 levels/);
    }
    expect(writes()).toBe(2);
  });

  test("a depth-3000 payload is a JobValidationError, not a RangeError; so is a depth-200,000 one", async () => {
    const { service, queue, writes } = setup();
    for (const levels of [3_000, 200_000]) {
      for (const kind of ["object", "array"] as const) {
        const error = await rejection(service.createJob("deep", nested(levels, kind)));
        expect(error.limit).toBe("depth");
      }
    }
    expect(writes()).toBe(0);
    expect((await queue.stats()).total).toBe(0);
  });

  test("deep metadata is refused by name too", async () => {
    const { service, writes } = setup();
    const error = await rejection(service.createJob("x", {}, { metadata: { m: nested(3_000) } }));
    expect(error.limit).toBe("depth");
    expect(error.issues[0]!.path).toBe("options.metadata");
    expect(writes()).toBe(0);
  });

  test("a deep job in a batch stores nothing of the batch", async () => {
    const { service, queue, writes } = setup();
    const error = await rejection(service.createJobs([{ jobType: "ok", payload: {} }, { jobType: "deep", payload: nested(3_000, "array") }]));
    expect(error.limit).toBe("depth");
    expect(writes()).toBe(0);
    expect((await queue.stats()).total).toBe(0);
  });

  test("maxDepth is configurable, below and above the fast copy's own depth", async () => {
    for (const maxDepth of [3, 64, 65, 600]) {
      const { service } = setup({ maxDepth });
      await expect(service.createJob("x", nested(maxDepth))).resolves.toBeDefined();
      expect((await rejection(service.createJob("x", nested(maxDepth + 1)))).limit).toBe("depth");
    }
  });

  test("a schema never sees input over a limit", async () => {
    let calls = 0;
    const schema = v.pipe(
      v.unknown(),
      v.check(() => (calls++, true)),
    );
    const { service } = setup({ schemas: { deep: schema } });
    expect((await rejection(service.createJob("deep", nested(3_000)))).limit).toBe("depth");
    expect(calls).toBe(0);
    await expect(service.createJob("deep", nested(10))).resolves.toBeDefined();
    expect(calls).toBe(1);
  });

  test("other problems deep inside still name their field; a deep cycle is a cycle, not a depth error", async () => {
    const { service } = setup();
    const inner = nested(100) as { a: unknown };
    let cursor = inner;
    for (let i = 0; i < 99; i++) cursor = cursor.a as { a: unknown };
    cursor.a = () => 1;
    const fn = await rejection(service.createJob("x", inner));
    expect(fn.limit).toBeNull();
    expect(fn.issues[0]!.path).toBe(`payload${".a".repeat(100)}`);
    const loop: Record<string, unknown> = {};
    let at = loop;
    for (let i = 0; i < 80; i++) at = (at.a = {}) as Record<string, unknown>;
    at.a = loop;
    const cycle = await rejection(service.createJob("x", loop));
    expect(cycle.limit).toBeNull();
    expect(cycle.issues[0]!.message).toBe("circular reference");
  });
});

describe("payload size", () => {
  test("the default is 1 MiB of UTF-8 JSON", () => {
    expect(DEFAULT_MAX_PAYLOAD_BYTES).toBe(1024 * 1024);
  });

  test("exactly the limit is accepted, one byte more is a JobValidationError with limit size", async () => {
    const { service, writes } = setup();
    const overhead = jsonBytes({ s: "" });
    const fits = { s: "x".repeat(DEFAULT_MAX_PAYLOAD_BYTES - overhead) };
    expect(jsonBytes(fits)).toBe(DEFAULT_MAX_PAYLOAD_BYTES);
    await expect(service.createJob("big", fits)).resolves.toBeDefined();
    const error = await rejection(service.createJob("big", { s: `${fits.s}x` }));
    expect(error.limit).toBe("size");
    expect(error.issues).toEqual([{ path: "payload", message: `is ${DEFAULT_MAX_PAYLOAD_BYTES + 1} bytes of JSON, more than the limit of ${DEFAULT_MAX_PAYLOAD_BYTES}` }]);
    expect(writes()).toBe(1);
  });

  test("many small values (the webhook flood shape) are counted too", async () => {
    const { service } = setup();
    const flood = Array.from({ length: 400_000 }, () => ({}));
    expect(jsonBytes(flood)).toBeGreaterThan(DEFAULT_MAX_PAYLOAD_BYTES);
    expect((await rejection(service.createJob("flood", flood))).limit).toBe("size");
  });

  test("bytes are UTF-8 bytes of the JSON text, escapes included, at any configured limit", async () => {
    const samples: unknown[] = [
      { text: "é".repeat(10), emoji: "🙂🙂", quote: '"\\', ctl: "\u0001\n\t", lone: "\ud800x" },
      ["a", 1.5, -0, 1e21, 123456789.123, true, null, { "k\"ey": "v", "ü": ["ß"] }],
      { deep: nested(80) },
      "just a string",
      12345,
    ];
    for (const sample of samples) {
      const exact = jsonBytes(sample);
      const { service } = setup({ maxPayloadBytes: exact });
      await expect(service.createJob("x", sample)).resolves.toBeDefined();
      const tight = setup({ maxPayloadBytes: exact - 1 });
      expect((await rejection(tight.service.createJob("x", sample))).limit).toBe("size");
    }
  });

  test("metadata has the same limit, by name", async () => {
    const { service } = setup({ maxPayloadBytes: 100 });
    const error = await rejection(service.createJob("x", {}, { metadata: { pad: "x".repeat(200) } }));
    expect(error.limit).toBe("size");
    expect(error.issues[0]!.path).toBe("options.metadata");
  });

  test("invalid limits are refused when the service is built", () => {
    const queue = new MemoryJobQueue();
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      expect(() => new JobService({ queue, maxPayloadBytes: bad })).toThrow(/maxPayloadBytes must be a positive integer/);
      expect(() => new JobService({ queue, maxDepth: bad })).toThrow(/maxDepth must be a positive integer/);
    }
  });

  test("utf8Length agrees with TextEncoder on random strings (surrogates, lone halves, controls)", () => {
    let seed = 42;
    const next = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const ranges = [0x7f, 0x7ff, 0xffff, 0xd800, 0xdc00];
    for (let n = 0; n < 2_000; n++) {
      let s = "";
      const len = Math.floor(next() * 12);
      for (let i = 0; i < len; i++) {
        const r = ranges[Math.floor(next() * ranges.length)]!;
        const code = r === 0xd800 || r === 0xdc00 ? r + Math.floor(next() * 0x400) : Math.floor(next() * (r + 1));
        s += String.fromCharCode(code);
      }
      expect(utf8Length(s)).toBe(encoder.encode(s).length);
    }
  });

  test("cloneJson without limits keeps the default depth and no size limit", () => {
    const issues: ValidationIssue[] = [];
    cloneJson(nested(DEFAULT_MAX_DEPTH + 1), "payload", issues);
    expect(issues.map((i) => i.path)).toEqual(["payload"]);
    const big: ValidationIssue[] = [];
    cloneJson("x".repeat(2 * DEFAULT_MAX_PAYLOAD_BYTES), "payload", big);
    expect(big).toEqual([]);
  });
});

describe("queue names and job types", () => {
  const valid = ["default", "email.send", "reports:daily", "a-b_c.d:e", "X".repeat(128), "0", "__proto__", "constructor", "toString"];
  const invalid = ["", "x".repeat(129), "has space", "a/b", "é", "tab\t", "semi;colon", "q\n"];

  test("the pattern is 1-128 characters of [A-Za-z0-9._:-]", () => {
    for (const name of valid) expect(NAME_PATTERN.test(name), name).toBe(true);
    for (const name of invalid) expect(NAME_PATTERN.test(name), JSON.stringify(name)).toBe(false);
  });

  test("a job type or queue name off the pattern is a JobValidationError naming the field; nothing is written", async () => {
    const { service, writes } = setup();
    for (const name of invalid) {
      const byType = await rejection(service.createJob(name, {}));
      expect(byType.issues.map((i) => i.path)).toEqual(["jobType"]);
      expect(byType.limit).toBeNull();
      const byQueue = await rejection(service.createJob("x", {}, { queueName: name }));
      expect(byQueue.issues.map((i) => i.path)).toEqual(["options.queueName"]);
      expect(byQueue.issues[0]!.message).toMatch(/1 to 128 characters/);
    }
    expect(writes()).toBe(0);
  });

  test("names that are Object.prototype members are ordinary names, counted by stats", async () => {
    const { service, queue } = setup();
    for (const name of valid) await service.createJob(name, {}, { queueName: name });
    const stats = await queue.stats();
    expect(stats.total).toBe(valid.length);
    for (const name of valid) {
      expect(Object.hasOwn(stats.byQueue, name), name).toBe(true);
      expect(stats.byQueue[name]!.pending, name).toBe(1);
    }
    expect(({} as Record<string, unknown>).pending).toBeUndefined();
    expect(JSON.parse(JSON.stringify(stats)).byQueue.__proto__.pending).toBe(1);
  });
});
