/** portico-jobs/testing itself: the fake clock, and runQueueConformance's registration contract. */
import { describe, expect, test } from "vitest";
import { JobService, type JobQueue } from "../../src/core/index.ts";
import { AssertionError, MemoryJobQueue, createFakeClock, runQueueConformance } from "../../src/testing/index.ts";

describe("createFakeClock", () => {
  test("starts where told, moves only on advance/set, and is callable as a Clock", () => {
    const clock = createFakeClock(new Date("2030-01-01T00:00:00Z"));
    const start = Date.UTC(2030, 0, 1);
    expect(clock.now()).toBe(start);
    expect(clock()).toBe(start);
    expect(clock.advance(1_500)).toBe(start + 1_500);
    expect(clock.now()).toBe(start + 1_500);
    clock.set(5);
    expect(clock()).toBe(5);
    clock.set(new Date(10));
    expect(clock.now()).toBe(10);
  });

  test("defaults to 2100-01-01, far from the wall clock", () => {
    expect(createFakeClock().now()).toBe(Date.UTC(2100, 0, 1));
  });

  test("refuses a negative or non-finite advance and an invalid time, naming the argument", () => {
    const clock = createFakeClock(0);
    expect(() => clock.advance(-1)).toThrow(/advance\(ms\)/);
    expect(() => clock.advance(Number.NaN)).toThrow(RangeError);
    expect(() => clock.set(new Date("nope"))).toThrow(/time/);
    expect(() => createFakeClock(Number.POSITIVE_INFINITY)).toThrow(/start/);
    expect(clock.now()).toBe(0);
  });

  test("drives JobService's scheduling: a delayed job falls due when the clock passes it", async () => {
    const clock = createFakeClock(Date.UTC(2100, 0, 1));
    const queue = new MemoryJobQueue();
    const service = new JobService({ queue, clock });
    const job = await service.createJob("later", {}, { delayMs: 60_000 });
    expect(job.scheduledAt?.getTime()).toBe(clock.now() + 60_000);
    const req = (now: number) => ({ queues: ["default"], limit: 1, leaseMs: 1_000, workerId: "w", now });
    expect(await queue.claim(req(clock.now()))).toHaveLength(0);
    clock.advance(60_000);
    expect((await queue.claim(req(clock.now())))[0]?.jobId).toBe(job.id);
  });
});

describe("runQueueConformance", () => {
  /** Collects the registered tests instead of running them. */
  const collect = (options: Partial<Parameters<typeof runQueueConformance>[0]> = {}) => {
    const names: string[] = [];
    const fns: Array<() => Promise<void>> = [];
    runQueueConformance({
      test: (name, fn) => {
        names.push(name);
        fns.push(fn);
      },
      expect,
      createQueue: () => new MemoryJobQueue(),
      ...options,
    });
    return { names, fns };
  };

  test("registers every test under '<name> conformance: ', with 'queue' as the default name", () => {
    const { names } = collect();
    expect(names.length).toBeGreaterThan(50);
    expect(names.every((n) => n.startsWith("queue conformance: "))).toBe(true);
    expect(new Set(names).size).toBe(names.length);
    expect(collect({ name: "mine" }).names.every((n) => n.startsWith("mine conformance: "))).toBe(true);
  });

  test("capabilities add their tests: a second handle and a retention policy", () => {
    const base = collect().names.length;
    const shared = new MemoryJobQueue();
    const withTwo = collect({ createQueue: () => shared, openSecondHandle: (q) => q, disposeQueue: async () => {} }).names;
    expect(withTwo.filter((n) => n.includes("two handles:")).length).toBeGreaterThan(3);
    const withRetention = collect({ createQueueWithRetention: (retention) => new MemoryJobQueue({ retention }) }).names;
    expect(withRetention.filter((n) => n.includes("retention:")).length).toBeGreaterThan(1);
    expect(withTwo.length).toBeGreaterThan(base);
    expect(withRetention.length).toBeGreaterThan(base);
  });

  test("each test gets a fresh queue and disposes it, even when the test fails", async () => {
    const made: JobQueue[] = [];
    const disposed: JobQueue[] = [];
    const { fns } = collect({
      createQueue: () => {
        const q = new MemoryJobQueue();
        made.push(q);
        return q;
      },
      disposeQueue: async (q) => void disposed.push(q),
    });
    for (const fn of fns.slice(0, 5)) await fn();
    expect(made).toHaveLength(5);
    expect(new Set(made).size).toBe(5);
    expect(disposed).toEqual(made);
  });

  test("a broken store fails with an AssertionError that says what was expected", async () => {
    // A store whose get always misses: the first test (enqueue then get) must fail.
    class Forgetful extends MemoryJobQueue {
      override async get(): Promise<null> {
        return null;
      }
    }
    const { names, fns } = collect({ createQueue: () => new Forgetful() });
    const i = names.findIndex((n) => n.includes("enqueue stores a job that get returns unchanged"));
    const error = await fns[i]!().then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(AssertionError);
    expect(String((error as Error).message)).toMatch(/expected/);
  });
});
