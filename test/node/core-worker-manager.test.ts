/**
 * WorkerManager over a real MemoryJobQueue with small real times. Tests never assert on
 * durations: they wait for states and count store calls instead.
 */
import { afterEach, describe, expect, test } from "vitest";
import {
  JobAbortedError,
  JobStalledError,
  JobEventType,
  JobService,
  JobStatus,
  JobTimeoutError,
  WorkerManager,
  silentLogger,
  type Job,
  type JobEvent,
  type JobHandler,
  type JobQueue,
  type JobResult,
  type Logger,
  type WorkerManagerOptions,
} from "../../src/core/index.ts";
import { MemoryJobQueue } from "../../src/drivers/memory.ts";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns true; the test's own timeout bounds the wait. */
async function until(check: () => boolean | Promise<boolean>, what = "condition"): Promise<void> {
  for (let i = 0; ; i++) {
    if (await check()) return;
    if (i > 20_000) throw new Error(`gave up waiting for ${what}`);
    await sleep(2);
  }
}

/** A promise with its resolver, for handlers that must wait for the test. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

const METHODS = ["enqueue", "claim", "extendLease", "complete", "fail", "release", "get", "cancel", "retry", "list", "stats", "nextWakeAt", "subscribe", "close"] as const;

/** A handle on `inner` whose methods can be replaced one by one (the others delegate). */
function wrap(inner: MemoryJobQueue, overrides: Partial<JobQueue> = {}): JobQueue {
  const out = {} as Record<string, unknown>;
  for (const m of METHODS) out[m] = overrides[m] ?? (inner[m] as (...a: unknown[]) => unknown).bind(inner);
  return out as unknown as JobQueue;
}

/** Counts the store calls a worker makes. */
function counted(inner: MemoryJobQueue) {
  const calls = { claim: 0, nextWakeAt: 0, extendLease: 0, complete: 0, fail: 0, release: 0 };
  const overrides: Record<string, unknown> = {};
  for (const name of Object.keys(calls) as (keyof typeof calls)[]) {
    const original = (inner[name] as (...a: unknown[]) => unknown).bind(inner);
    overrides[name] = (...args: unknown[]) => {
      calls[name]++;
      return original(...args);
    };
  }
  return { queue: wrap(inner, overrides as Partial<JobQueue>), calls };
}

/** A logger that keeps every event. */
function recordingLogger() {
  const events: { level: string; event: string; fields?: object }[] = [];
  const at = (level: string) => (event: string, fields?: object) => void events.push({ level, event, fields });
  const logger: Logger = { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
  return { logger, events };
}

const workers: WorkerManager[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop({ graceful: false })));
});

function worker(options: Partial<WorkerManagerOptions> & Pick<WorkerManagerOptions, "queue" | "handlers">): WorkerManager {
  const w = new WorkerManager({ logger: silentLogger, backoff: { baseMs: 1, jitter: false }, ...options });
  workers.push(w);
  return w;
}

const ok = async (): Promise<JobResult> => ({ success: true });

async function statusOf(service: JobService, id: string) {
  return (await service.getJob(id))?.status;
}

describe("claim order", () => {
  test("queues are served in the order given, then priority, then age", async () => {
    const queue = new MemoryJobQueue();
    const service = new JobService({ queue });
    const ran: string[] = [];
    const handler: JobHandler<{ name: string }> = {
      jobType: "t",
      handle: async (job) => {
        ran.push(job.payload.name);
        return { success: true };
      },
    };
    await service.createJob("t", { name: "low-1" }, { queueName: "low_priority", priority: 100 });
    await service.createJob("t", { name: "default-p0" }, { queueName: "default" });
    await service.createJob("t", { name: "high-p1" }, { queueName: "high_priority", priority: 1 });
    await service.createJob("t", { name: "default-p5" }, { queueName: "default", priority: 5 });
    await service.createJob("t", { name: "high-p10" }, { queueName: "high_priority", priority: 10 });
    await service.createJob("t", { name: "high-p1-later" }, { queueName: "high_priority", priority: 1 });
    const w = worker({ queue, handlers: [handler], concurrency: 1, queues: ["high_priority", "default", "low_priority"] });
    await w.start();
    await until(() => ran.length === 6, "six jobs");
    expect(ran).toEqual(["high-p10", "high-p1", "high-p1-later", "default-p5", "default-p0", "low-1"]);
  });

  test("jobs in queues the worker does not serve are left alone", async () => {
    const queue = new MemoryJobQueue();
    const service = new JobService({ queue });
    const mine = await service.createJob("t", {}, { queueName: "mine" });
    const theirs = await service.createJob("t", {}, { queueName: "theirs" });
    const w = worker({ queue, handlers: [{ jobType: "t", handle: ok }], queues: ["mine"] });
    await w.start();
    await until(async () => (await statusOf(service, mine.id)) === JobStatus.COMPLETED);
    await w.stop();
    expect(await statusOf(service, theirs.id)).toBe(JobStatus.PENDING);
  });

  test("the default queue list is ['default']", async () => {
    const queue = new MemoryJobQueue();
    const service = new JobService({ queue });
    const job = await service.createJob("t", {});
    const w = worker({ queue, handlers: { t: { jobType: "t", handle: ok } } });
    await w.start();
    await until(async () => (await statusOf(service, job.id)) === JobStatus.COMPLETED);
  });
});

describe("concurrency and leases", () => {
  test("never runs more than `concurrency` handlers at once, and does reach it", async () => {
    const queue = new MemoryJobQueue();
    const service = new JobService({ queue });
    let inFlight = 0;
    let peak = 0;
    let done = 0;
    const handler: JobHandler = {
      jobType: "t",
      handle: async () => {
        peak = Math.max(peak, ++inFlight);
        await sleep(1 + (done % 3));
        inFlight--;
        done++;
        return { success: true };
      },
    };
    await service.createJobs(Array.from({ length: 40 }, () => ({ jobType: "t", payload: {} })));
    const w = worker({ queue, handlers: [handler], concurrency: 3 });
    await w.start();
    await until(() => done === 40, "40 jobs");
    expect(peak).toBe(3);
  });

  test("several workers on one store never run a job twice when nothing fails", async () => {
    const queue = new MemoryJobQueue();
    const service = new JobService({ queue });
    const runs = new Map<string, number>();
    const handler: JobHandler = {
      jobType: "t",
      handle: async (job) => {
        runs.set(job.id, (runs.get(job.id) ?? 0) + 1);
        await sleep(0);
        return { success: true };
      },
    };
    const jobs = await service.createJobs(Array.from({ length: 200 }, () => ({ jobType: "t", payload: {} })));
    for (let i = 0; i < 3; i++) await worker({ queue, handlers: [handler], concurrency: 4 }).start();
    await until(() => runs.size === 200, "200 jobs");
    await until(async () => (await queue.stats()).byStatus.completed === 200, "all completed");
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
    expect(jobs.length).toBe(200);
  });

  test("renews the lease while a handler runs longer than leaseMs", async () => {
    const inner = new MemoryJobQueue();
    const { queue, calls } = counted(inner);
    const service = new JobService({ queue: inner });
    const stolen: string[] = [];
    const handler: JobHandler = {
      jobType: "slow",
      handle: async () => {
        // Outlive several lease periods, probing the store as a competing worker would.
        while (calls.extendLease < 4) {
          const grabbed = await inner.claim({ queues: ["default"], limit: 1, leaseMs: 300, workerId: "thief", now: Date.now() });
          stolen.push(...grabbed.map((c) => c.jobId));
          await sleep(20);
        }
        return { success: true, resultData: "done" };
      },
    };
    const job = await service.createJob("slow", {});
    const w = worker({ queue, handlers: [handler], leaseMs: 600 });
    await w.start();
    await until(async () => (await statusOf(service, job.id)) === JobStatus.COMPLETED);
    expect(stolen).toEqual([]);
    const done = await service.getJob(job.id);
    expect(done?.attempts).toBe(1);
    expect(done?.result).toBe("done");
  });

  test("a worker that loses its lease aborts the handler and writes nothing", async () => {
    const queue = new MemoryJobQueue();
    const service = new JobService({ queue });
    let reason: unknown;
    const started = gate();
    const handler: JobHandler = {
      jobType: "t",
      handle: async (_job, { signal }) => {
        started.open();
        await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
        reason = signal.reason;
        return { success: true, resultData: "should not be stored" };
      },
    };
    const job = await service.createJob("t", {});
    const w = worker({ queue, handlers: [handler], leaseMs: 90 });
    const lost: JobEvent[] = [];
    w.addEventListener(JobEventType.LEASE_LOST, (e) => lost.push(e as JobEvent));
    await w.start();
    await started.opened;
    // Another worker, whose clock says the lease ran out long ago, takes the job over.
    const [takeover] = await queue.claim({ queues: ["default"], limit: 1, leaseMs: 60_000, workerId: "other", now: Date.now() + 3_600_000 });
    expect(takeover?.jobId).toBe(job.id);
    await until(() => lost.length === 1, "lease_lost event");
    expect(reason).toBeInstanceOf(JobAbortedError);
    expect((reason as JobAbortedError).code).toBe("job_lease_lost");
    expect((await service.getJob(job.id))?.status).toBe(JobStatus.RUNNING);
    expect(await queue.complete(takeover!, "by the new holder", Date.now())).toBe(true);
    expect((await service.getJob(job.id))?.result).toBe("by the new holder");
  });
});

describe("timeouts", () => {
  test("timeoutMs aborts the handler's signal and counts as a failure", async () => {
    const queue = new MemoryJobQueue();
    const service = new JobService({ queue });
    const reasons: unknown[] = [];
    const failures: Error[] = [];
    const handler: JobHandler = {
      jobType: "t",
      handle: async (_job, { signal }) => {
        await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
        reasons.push(signal.reason);
        return { success: true };
      },
      onFailure: async (_job, error) => void failures.push(error),
    };
    const job = await service.createJob("t", {}, { timeoutMs: 20, maxRetries: 1 });
    await worker({ queue, handlers: [handler] }).start();
    await until(async () => (await statusOf(service, job.id)) === JobStatus.DEAD_LETTER);
    const dead = await service.getJob(job.id);
    expect(dead?.attempts).toBe(2);
    expect(dead?.retryCount).toBe(1);
    expect(dead?.errorMessage).toMatch(/timed out after 20 ms/);
    expect(reasons).toHaveLength(2);
    for (const r of reasons) expect(r).toBeInstanceOf(JobTimeoutError);
    expect(failures.map((e) => e.constructor)).toEqual([JobTimeoutError, JobTimeoutError]);
  });

  test("a handler that ignores its signal still fails at the timeout (worker default timeoutMs)", async () => {
    const queue = new MemoryJobQueue();
    const service = new JobService({ queue });
    const never = gate();
    const handler: JobHandler = { jobType: "t", handle: async () => (await never.opened, { success: true }) };
    const job = await service.createJob("t", {}, { maxRetries: 0 });
    await worker({ queue, handlers: [handler], timeoutMs: 15 }).start();
    await until(async () => (await statusOf(service, job.id)) === JobStatus.DEAD_LETTER);
    expect((await service.getJob(job.id))?.errorMessage).toMatch(/timed out/);
    never.open();
  });
});

describe("failures, retries and dead letters", () => {
  test("a throwing handler is retried with backoff until DEAD_LETTER: maxRetries+1 attempts", async () => {
    const queue = new MemoryJobQueue();
    const service = new JobService({ queue });
    let attempts = 0;
    const handler: JobHandler = {
      jobType: "t",
      handle: async () => {
        attempts++;
        throw new Error(`attempt ${attempts} failed`);
      },
    };
    const job = await service.createJob("t", {}, { maxRetries: 3 });
    const w = worker({ queue, handlers: [handler], backoff: { type: "exponential", baseMs: 2, jitter: false } });
    const retrying: Job[] = [];
    const dead: Job[] = [];
    w.addEventListener(JobEventType.RETRYING, (e) => retrying.push((e as JobEvent).job));
    w.addEventListener(JobEventType.DEAD_LETTER, (e) => dead.push((e as JobEvent).job));
    await w.start();
    await until(async () => (await statusOf(service, job.id)) === JobStatus.DEAD_LETTER);
    const final = await service.getJob(job.id);
    expect(final?.retryCount).toBe(3);
    expect(final?.attempts).toBe(4);
    expect(attempts).toBe(4);
    expect(final?.errorMessage).toBe("attempt 4 failed");
    expect(final?.failedAt).toBeInstanceOf(Date);
    // Each retry was scheduled baseMs * 2^retryCount after the failure.
    expect(retrying.map((j) => j.retryCount)).toEqual([1, 2, 3]);
    expect(retrying.map((j) => j.runAt.getTime() - j.failedAt!.getTime())).toEqual([2, 4, 8]);
    expect(dead).toHaveLength(1);
  });

  test("maxRetries 0 dead-letters on the first failure", async () => {
    const queue = new MemoryJobQueue();
    const service = new JobService({ queue });
    const job = await service.createJob("t", {}, { maxRetries: 0 });
    await worker({ queue, handlers: [{ jobType: "t", handle: async () => ({ success: false, error: new Error("nope") }) }] }).start();
    await until(async () => (await statusOf(service, job.id)) === JobStatus.DEAD_LETTER);
    expect(await service.getJob(job.id)).toMatchObject({ retryCount: 0, attempts: 1, errorMessage: "nope" });
  });

  test("success=false without retryable is retried like a throw", async () => {
    const queue = new MemoryJobQueue();
    const service = new JobService({ queue });
    let calls = 0;
    const handler: JobHandler = {
      jobType: "t",
      handle: async () => (++calls < 3 ? { success: false } : { success: true, resultData: { calls } }),
    };
    const job = await service.createJob("t", {});
    await worker({ queue, handlers: [handler] }).start();
    await until(async () => (await statusOf(service, job.id)) === JobStatus.COMPLETED);
    expect(await service.getJob(job.id)).toMatchObject({ retryCount: 2, attempts: 3, result: { calls: 3 } });
  });

  test("retryable=false goes to FAILED at once", async () => {
    const queue = new MemoryJobQueue();
    const service = new JobService({ queue });
    const seen: number[] = [];
    const handler: JobHandler = {
      jobType: "t",
      handle: async () => ({ success: false, retryable: false, error: new Error("invalid address") }),
      onFailure: async (job) => void seen.push(job.retryCount),
    };
    const job = await service.createJob("t", {}, { maxRetries: 5 });
    const w = worker({ queue, handlers: [handler] });
    const failed: JobEvent[] = [];
    w.addEventListener(JobEventType.FAILED, (e) => failed.push(e as JobEvent));
    await w.start();
    await until(async () => (await statusOf(service, job.id)) === JobStatus.FAILED);
    expect(await service.getJob(job.id)).toMatchObject({ retryCount: 0, attempts: 1, errorMessage: "invalid address" });
    expect(seen).toEqual([0]);
    expect(failed).toHaveLength(1);
    expect(failed[0]?.error?.message).toBe("invalid address");
  });

  test("onFailure runs on every failure with the job's retryCount before the increment", async () => {
    const queue = new MemoryJobQueue();
    const service = new JobService({ queue });
    const calls: { retryCount: number; message: string; status: string }[] = [];
    const handler: JobHandler = {
      jobType: "t",
      handle: async (job) => {
        throw new Error(`fail #${job.retryCount}`);
      },
      onFailure: async (job, error) => void calls.push({ retryCount: job.retryCount, message: error.message, status: job.status }),
    };
    const job = await service.createJob("t", {}, { maxRetries: 2 });
    await worker({ queue, handlers: [handler] }).start();
    await until(async () => (await statusOf(service, job.id)) === JobStatus.DEAD_LETTER);
    expect(calls).toEqual([
      { retryCount: 0, message: "fail #0", status: "running" },
      { retryCount: 1, message: "fail #1", status: "running" },
      { retryCount: 2, message: "fail #2", status: "running" },
    ]);
  });

  test("onFailure throwing is logged and changes nothing", async () => {
    const run = async (onFailureThrows: boolean) => {
      const queue = new MemoryJobQueue();
      const service = new JobService({ queue });
      const { logger, events } = recordingLogger();
      const handler: JobHandler = {
        jobType: "t",
        handle: async () => {
          throw new Error("handler broke");
        },
        onFailure: async () => {
          if (onFailureThrows) throw new Error("cleanup broke");
        },
      };
      const job = await service.createJob("t", {}, { maxRetries: 2 });
      const w = worker({ queue, handlers: [handler], logger });
      await w.start();
      await until(async () => (await statusOf(service, job.id)) === JobStatus.DEAD_LETTER);
      await w.stop();
      const final = await service.getJob(job.id);
      return { final: { status: final?.status, retryCount: final?.retryCount, attempts: final?.attempts, errorMessage: final?.errorMessage }, events };
    };
    const plain = await run(false);
    const throwing = await run(true);
    expect(throwing.final).toEqual(plain.final);
    expect(throwing.final).toEqual({ status: "dead_letter", retryCount: 2, attempts: 3, errorMessage: "handler broke" });
    const hookErrors = throwing.events.filter((e) => e.event === "job.on_failure_error");
    expect(hookErrors).toHaveLength(3);
    expect(hookErrors[0]?.level).toBe("error");
    expect((hookErrors[0]?.fields as { error: Error }).error.message).toBe("cleanup broke");
    expect(plain.events.some((e) => e.event === "job.on_failure_error")).toBe(false);
  });

  test("a job type without a handler fails at once, without retries", async () => {
    const queue = new MemoryJobQueue();
    const service = new JobService({ queue });
    const job = await service.createJob("orphan", {}, { maxRetries: 3 });
    await worker({ queue, handlers: [{ jobType: "t", handle: ok }] }).start();
    await until(async () => (await statusOf(service, job.id)) === JobStatus.FAILED);
    expect((await service.getJob(job.id))?.errorMessage).toMatch(/No handler registered for job type "orphan"/);
  });

  test("a handler that returns something other than a JobResult fails", async () => {
    const queue = new MemoryJobQueue();
    const service = new JobService({ queue });
    const job = await service.createJob("t", {}, { maxRetries: 0 });
    const handler = { jobType: "t", handle: async () => "ok" } as unknown as JobHandler;
    await worker({ queue, handlers: [handler] }).start();
    await until(async () => (await statusOf(service, job.id)) === JobStatus.DEAD_LETTER);
    expect((await service.getJob(job.id))?.errorMessage).toMatch(/did not return a JobResult/);
  });

  test("a thrown non-Error value becomes an Error message", async () => {
    const queue = new MemoryJobQueue();
    const service = new JobService({ queue });
    const job = await service.createJob("t", {}, { maxRetries: 0 });
    await worker({
      queue,
      handlers: [
        {
          jobType: "t",
          handle: async () => {
            throw "plain string";
          },
        },
      ],
    }).start();
    await until(async () => (await statusOf(service, job.id)) === JobStatus.DEAD_LETTER);
    expect((await service.getJob(job.id))?.errorMessage).toBe("plain string");
  });
});

describe("stalled jobs (lost leases)", () => {
  /** Claims `job` `times` times without finishing, each lease running out: dead workers. */
  async function loseLeases(queue: MemoryJobQueue, times: number): Promise<number> {
    let now = Date.now() - 60_000;
    for (let i = 0; i < times; i++) {
      const [c] = await queue.claim({ queues: ["default"], limit: 1, leaseMs: 1_000, workerId: `dead-${i}`, now });
      expect(c).toBeDefined();
      now += 1_001;
    }
    return now;
  }

  test("a job that lost its lease more than maxStalls times is dead-lettered without running", async () => {
    const queue = new MemoryJobQueue();
    const service = new JobService({ queue });
    const job = await service.createJob("t", {}, { maxRetries: 5 });
    await loseLeases(queue, 3);
    let ran = 0;
    const failures: Error[] = [];
    const handler: JobHandler = { jobType: "t", handle: async () => (ran++, { success: true }), onFailure: async (_j, e) => void failures.push(e) };
    const dead: JobEvent[] = [];
    const w = worker({ queue, handlers: [handler], maxStalls: 2 });
    w.addEventListener(JobEventType.DEAD_LETTER, (e) => dead.push(e as JobEvent));
    await w.start();
    await until(async () => (await statusOf(service, job.id)) === JobStatus.DEAD_LETTER, "dead letter");
    expect(ran).toBe(0);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toBeInstanceOf(JobStalledError);
    expect((failures[0] as JobStalledError).stalls).toBe(3);
    expect(dead).toHaveLength(1);
    const stored = await service.getJob(job.id);
    expect(stored?.errorMessage).toMatch(/lost its lease 3 times/);
    expect(stored?.retryCount).toBe(0);
  });

  test("up to maxStalls lost leases the job still runs; released claims and failed attempts are not stalls", async () => {
    const queue = new MemoryJobQueue();
    const service = new JobService({ queue });
    const job = await service.createJob("t", {}, { maxRetries: 5 });
    await loseLeases(queue, 2);
    // A graceful stop hands a claim back: not a stall.
    const [held] = await queue.claim({ queues: ["default"], limit: 1, leaseMs: 60_000, workerId: "stopping", now: Date.now() });
    expect(await queue.release(held!, Date.now())).toBe(true);
    let calls = 0;
    const handler: JobHandler = {
      jobType: "t",
      // Two ordinary failures first: retries, not stalls.
      handle: async () => (++calls <= 2 ? { success: false, error: new Error("flaky") } : { success: true }),
    };
    await worker({ queue, handlers: [handler], maxStalls: 2 }).start();
    await until(async () => (await statusOf(service, job.id)) === JobStatus.COMPLETED, "completed");
    expect(calls).toBe(3);
    const stored = await service.getJob(job.id);
    expect(stored?.retryCount).toBe(2);
    expect(stored?.attempts).toBe(5); // 2 lost + 3 run
  });

  test("retryJob re-drives a stalled job from scratch", async () => {
    const queue = new MemoryJobQueue();
    const service = new JobService({ queue });
    const job = await service.createJob("t", {});
    await loseLeases(queue, 2);
    let ran = 0;
    const handler: JobHandler = { jobType: "t", handle: async () => (ran++, { success: true }) };
    const w = worker({ queue, handlers: [handler], maxStalls: 1 });
    await w.start();
    await until(async () => (await statusOf(service, job.id)) === JobStatus.DEAD_LETTER, "dead letter");
    expect(ran).toBe(0);
    await service.retryJob(job.id);
    await until(async () => (await statusOf(service, job.id)) === JobStatus.COMPLETED, "completed after retryJob");
    expect(ran).toBe(1);
  });

  test("maxStalls must be a non-negative integer", () => {
    expect(() => new WorkerManager({ queue: new MemoryJobQueue(), handlers: [], maxStalls: -1 })).toThrow(/maxStalls/);
    expect(() => new WorkerManager({ queue: new MemoryJobQueue(), handlers: [], maxStalls: 1.5 })).toThrow(/maxStalls/);
  });
});

describe("events", () => {
  test("started, completed, retrying, failed and dead_letter are dispatched with the job", async () => {
    const queue = new MemoryJobQueue();
    const service = new JobService({ queue });
    const handler: JobHandler<{ mode: string }> = {
      jobType: "t",
      handle: async (job) => {
        if (job.payload.mode === "ok") return { success: true, resultData: { n: 1 } };
        if (job.payload.mode === "fatal") return { success: false, retryable: false, error: new Error("fatal") };
        throw new Error("flaky");
      },
    };
    const w = worker({ queue, handlers: [handler], concurrency: 1 });
    const seen: { type: string; jobType: string; status: string; mode: string; error: string | null; result: unknown }[] = [];
    for (const type of Object.values(JobEventType)) {
      w.addEventListener(type, (e) => {
        const ev = e as JobEvent;
        seen.push({ type, jobType: ev.job.jobType, status: ev.job.status, mode: (ev.job.payload as { mode: string }).mode, error: ev.error?.message ?? null, result: ev.result });
      });
    }
    await service.createJob("t", { mode: "ok" }, { priority: 3 });
    await service.createJob("t", { mode: "fatal" }, { priority: 2 });
    const flaky = await service.createJob("t", { mode: "flaky" }, { priority: 1, maxRetries: 1 });
    await w.start();
    await until(async () => (await statusOf(service, flaky.id)) === JobStatus.DEAD_LETTER);
    expect(seen.filter((s) => s.type !== JobEventType.STARTED)).toEqual([
      { type: "job:completed", jobType: "t", status: "completed", mode: "ok", error: null, result: { n: 1 } },
      { type: "job:failed", jobType: "t", status: "failed", mode: "fatal", error: "fatal", result: undefined },
      { type: "job:retrying", jobType: "t", status: "retrying", mode: "flaky", error: "flaky", result: undefined },
      { type: "job:dead_letter", jobType: "t", status: "dead_letter", mode: "flaky", error: "flaky", result: undefined },
    ]);
    expect(seen.filter((s) => s.type === JobEventType.STARTED).map((s) => s.mode)).toEqual(["ok", "fatal", "flaky", "flaky"]);
  });
});

describe("start and stop", () => {
  test("isRunning follows start/stop; start twice is harmless", async () => {
    const queue = new MemoryJobQueue();
    const w = worker({ queue, handlers: [] });
    expect(w.isRunning).toBe(false);
    await w.start();
    await w.start();
    expect(w.isRunning).toBe(true);
    await w.stop();
    expect(w.isRunning).toBe(false);
    await w.stop();
  });

  test("invalid numeric options are rejected with the option's name", () => {
    const queue = new MemoryJobQueue();
    expect(() => new WorkerManager({ queue, handlers: [], concurrency: 0 })).toThrow(/concurrency/);
    expect(() => new WorkerManager({ queue, handlers: [], leaseMs: 1.5 })).toThrow(/leaseMs/);
  });

  test("a graceful stop waits for running jobs to finish", async () => {
    const queue = new MemoryJobQueue();
    const service = new JobService({ queue });
    const started = gate();
    const finish = gate();
    const handler: JobHandler = { jobType: "t", handle: async () => (started.open(), await finish.opened, { success: true }) };
    const job = await service.createJob("t", {});
    const waiting = await service.createJob("t", {}, { queueName: "default", delayMs: 0 });
    const w = worker({ queue, handlers: [handler], concurrency: 1 });
    await w.start();
    await started.opened;
    let stopped = false;
    const stopping = w.stop({ timeoutMs: 30_000 }).then(() => (stopped = true));
    await sleep(20);
    expect(stopped).toBe(false);
    expect(w.isRunning).toBe(false);
    finish.open();
    await stopping;
    expect(await statusOf(service, job.id)).toBe(JobStatus.COMPLETED);
    // Nothing new was claimed once stop began.
    expect(await statusOf(service, waiting.id)).toBe(JobStatus.PENDING);
  });

  test("a stop that times out aborts the handler and releases the job back to PENDING", async () => {
    const queue = new MemoryJobQueue();
    const service = new JobService({ queue });
    const started = gate();
    let reason: unknown;
    const failures: Error[] = [];
    const handler: JobHandler = {
      jobType: "t",
      handle: async (_job, { signal }) => {
        started.open();
        await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
        reason = signal.reason;
        return { success: true, resultData: "too late" };
      },
      onFailure: async (_job, error) => void failures.push(error),
    };
    const job = await service.createJob("t", {});
    const w = worker({ queue, handlers: [handler] });
    await w.start();
    await started.opened;
    await w.stop({ timeoutMs: 10 });
    expect(reason).toBeInstanceOf(JobAbortedError);
    expect((reason as JobAbortedError).code).toBe("job_shutdown");
    await sleep(5);
    const after = await service.getJob(job.id);
    expect(after).toMatchObject({ status: JobStatus.PENDING, retryCount: 0, errorMessage: null, result: null });
    expect(failures).toEqual([]);
    // The released job is picked up again by the next worker.
    const next = worker({ queue, handlers: [{ jobType: "t", handle: ok }] });
    await next.start();
    await until(async () => (await statusOf(service, job.id)) === JobStatus.COMPLETED);
    // The released claim was handed back, so only the second run counts as an attempt.
    expect((await service.getJob(job.id))?.attempts).toBe(1);
  });

  test("a non-graceful stop aborts and releases at once", async () => {
    const queue = new MemoryJobQueue();
    const service = new JobService({ queue });
    const started = gate();
    const handler: JobHandler = { jobType: "t", handle: async () => (started.open(), await new Promise(() => {}), { success: true }) };
    const job = await service.createJob("t", {});
    const w = worker({ queue, handlers: [handler] });
    await w.start();
    await started.opened;
    await w.stop({ graceful: false });
    expect(await statusOf(service, job.id)).toBe(JobStatus.PENDING);
    expect(w.activeCount).toBe(0);
  });
});

describe("waking up", () => {
  test("an idle worker sleeps instead of polling, and an enqueue wakes it", async () => {
    const inner = new MemoryJobQueue();
    const { queue, calls } = counted(inner);
    const service = new JobService({ queue: inner });
    const w = worker({ queue, handlers: [{ jobType: "t", handle: ok }], pollIntervalMs: 60_000 });
    await w.start();
    await sleep(100);
    expect(calls.claim).toBe(1);
    const job = await service.createJob("t", {});
    await until(async () => (await statusOf(service, job.id)) === JobStatus.COMPLETED);
    expect(calls.claim).toBeLessThanOrEqual(4);
  });

  test("a scheduled job runs when due without hammering the store", async () => {
    const inner = new MemoryJobQueue();
    const { queue, calls } = counted(inner);
    const service = new JobService({ queue: inner });
    const w = worker({ queue, handlers: [{ jobType: "t", handle: ok }] });
    await w.start();
    const job = await service.createJob("t", {}, { delayMs: 150 });
    expect(job.status).toBe(JobStatus.SCHEDULED);
    await until(async () => (await statusOf(service, job.id)) === JobStatus.COMPLETED);
    // Start, the enqueue's wake-up, the due time, after the completion: a handful, not hundreds.
    expect(calls.claim).toBeLessThanOrEqual(6);
    expect(calls.nextWakeAt).toBeLessThanOrEqual(6);
  });

  test("a store outage during claim is logged and retried, not fatal", async () => {
    const inner = new MemoryJobQueue();
    const service = new JobService({ queue: inner });
    let failuresLeft = 2;
    const queue = wrap(inner, {
      claim: (request) => (failuresLeft-- > 0 ? Promise.reject(new Error("store down")) : inner.claim(request)),
    });
    const { logger, events } = recordingLogger();
    const job = await service.createJob("t", {});
    await worker({ queue, handlers: [{ jobType: "t", handle: ok }], logger }).start();
    await until(async () => (await statusOf(service, job.id)) === JobStatus.COMPLETED);
    expect(events.filter((e) => e.event === "worker.claim_failed")).toHaveLength(2);
  });
});

test("start() during a stop() waits for the stop and then runs again", async () => {
  const queue = new MemoryJobQueue();
  const ran: string[] = [];
  const handler = { jobType: "t", handle: async (job: { id: string }) => (ran.push(job.id), { success: true }) };
  const worker = new WorkerManager({ queue, handlers: [handler], logger: silentLogger });
  await worker.start();
  const stopping = worker.stop();
  const starting = worker.start();
  await Promise.all([stopping, starting]);
  expect(worker.isRunning).toBe(true);
  const job = await new JobService({ queue }).createJob("t", {});
  await expect.poll(() => ran).toContain(job.id);
  await worker.stop();
  expect(worker.isRunning).toBe(false);
});
