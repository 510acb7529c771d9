/**
 * The runner rules, written once and run against every runner: WorkerManager in Node
 * (test/node/runner-rules.test.ts) and the Durable Object's alarm in workerd
 * (test/workers/runner-rules.test.ts). Each runner plugs in through a {@link RunnerHarness}; the
 * assertions here never know which one runs the jobs.
 */
import { describe, expect, test } from "vitest";
import {
  JobEvent,
  JobEventType,
  JobTimeoutError,
  PorticoError,
  type BackoffOptions,
  type HandlerList,
  type Job,
  type JobHandler,
  type JobStatus,
  type Logger,
} from "../../src/core/index.ts";

/** One structured log line as a Logger received it. */
export interface LogLine {
  level: "debug" | "info" | "warn" | "error";
  event: string;
  fields: Record<string, unknown>;
}

/** A runner started with one set of handlers. */
export interface RunnerSession {
  /** Stores the job as given (bypassing JobService, so unknown types reach the runner). */
  enqueue(job: Job): Promise<void>;
  /** Lets the runner work until the job is in `status`; returns the stored job. */
  settle(id: string, status: JobStatus): Promise<Job>;
  stop(): Promise<void>;
}

/** How a test file starts its runner. */
export interface RunnerHarness {
  start(options: { handlers: HandlerList; logger: Logger; events: (event: JobEvent) => void; backoff?: BackoffOptions }): Promise<RunnerSession>;
}

/** A job due now, so a wall-clock runner (the alarm) takes it at once. */
function dueJob(overrides: Partial<Job>): Job {
  const now = new Date(Date.now() - 5);
  return {
    id: crypto.randomUUID(),
    queueName: "default",
    jobType: "rules.ok",
    payload: {},
    priority: 0,
    maxRetries: 0,
    retryCount: 0,
    scheduledAt: null,
    startedAt: null,
    completedAt: null,
    failedAt: null,
    status: "pending",
    errorMessage: null,
    createdBy: null,
    createdAt: now,
    metadata: {},
    idempotencyKey: null,
    result: null,
    runAt: now,
    attempts: 0,
    timeoutMs: null,
    progress: null,
    ...overrides,
  };
}

/** Registers the shared rules as tests of the calling file. */
export function runnerRules(name: string, harness: RunnerHarness): void {
  describe(`runner rules (${name})`, () => {
    async function session(handlers: HandlerList, backoff?: BackoffOptions) {
      const logs: LogLine[] = [];
      const events: JobEvent[] = [];
      const log =
        (level: LogLine["level"]) =>
        (event: string, fields?: object): void => {
          logs.push({ level, event, fields: { ...(fields as Record<string, unknown>) } });
        };
      const logger: Logger = { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
      const s = await harness.start({ handlers, logger, events: (e) => events.push(e), backoff });
      const of = (id: string) => ({
        events: () => events.filter((e) => e.job.id === id),
        types: () => events.filter((e) => e.job.id === id).map((e) => e.type),
        logs: () => logs.filter((l) => l.fields.jobId === id),
      });
      return { s, of };
    }

    test("a completed job: job:started then job:completed with the result, and the stored result", async () => {
      const { s, of } = await session([{ jobType: "rules.ok", handle: async (job) => ({ success: true, resultData: { echoed: job.payload } }) }]);
      try {
        const job = dueJob({ payload: { n: 7 } });
        await s.enqueue(job);
        const done = await s.settle(job.id, "completed");
        expect(done.result).toEqual({ echoed: { n: 7 } });
        expect(of(job.id).types()).toEqual([JobEventType.STARTED, JobEventType.COMPLETED]);
        const completed = of(job.id).events()[1]!;
        expect(completed).toBeInstanceOf(JobEvent);
        expect(completed.result).toEqual({ echoed: { n: 7 } });
        expect(completed.job.status).toBe("completed");
        expect(of(job.id).logs().map((l) => [l.level, l.event])).toEqual([["debug", "job.completed"]]);
      } finally {
        await s.stop();
      }
    });

    test("a handler that outlives its timeout fails with JobTimeoutError: its signal aborts with it and onFailure gets it", async () => {
      const reasons: unknown[] = [];
      const failures: Error[] = [];
      const hang: JobHandler = {
        jobType: "rules.hang",
        // Ignores the signal on purpose: the runner must not wait for the handler.
        handle: (_job, { signal }) => new Promise(() => signal.addEventListener("abort", () => reasons.push(signal.reason))),
        onFailure: async (_job, error) => void failures.push(error),
      };
      const { s, of } = await session([hang]);
      try {
        const job = dueJob({ jobType: "rules.hang", timeoutMs: 30 });
        await s.enqueue(job);
        const dead = await s.settle(job.id, "dead_letter");
        expect(dead.errorMessage).toBe("Job timed out after 30 ms");
        expect(reasons).toHaveLength(1);
        expect(reasons[0]).toBeInstanceOf(JobTimeoutError);
        expect(failures).toHaveLength(1);
        expect(failures[0]).toBeInstanceOf(JobTimeoutError);
        expect((failures[0] as PorticoError).code).toBe("job_timeout");
        expect(of(job.id).types()).toEqual([JobEventType.STARTED, JobEventType.DEAD_LETTER]);
        expect(of(job.id).events()[1]!.error).toBeInstanceOf(JobTimeoutError);
        expect(of(job.id).logs()).toContainEqual(expect.objectContaining({ level: "error", event: "job.dead_letter" }));
      } finally {
        await s.stop();
      }
    });

    test("a job type without a handler fails at once (no retries), with a typed unknown_job_type error", async () => {
      const { s, of } = await session([{ jobType: "rules.ok", handle: async () => ({ success: true }) }]);
      try {
        const job = dueJob({ jobType: "rules.nobody", maxRetries: 3 });
        await s.enqueue(job);
        const failed = await s.settle(job.id, "failed");
        expect(failed.errorMessage).toBe('No handler registered for job type "rules.nobody"');
        expect(failed.retryCount).toBe(0);
        expect(failed.attempts).toBe(1);
        expect(of(job.id).types()).toEqual([JobEventType.STARTED, JobEventType.FAILED]);
        const error = of(job.id).events()[1]!.error as PorticoError;
        expect(error).toBeInstanceOf(PorticoError);
        expect(error.code).toBe("unknown_job_type");
        expect(of(job.id).logs()).toContainEqual(expect.objectContaining({ level: "error", event: "job.failed" }));
      } finally {
        await s.stop();
      }
    });

    test("a handler that returns no JobResult fails as retryable (invalid_result), then dead-letters", async () => {
      const { s, of } = await session([{ jobType: "rules.bad", handle: async () => ({ ok: true }) as never }]);
      try {
        const job = dueJob({ jobType: "rules.bad" });
        await s.enqueue(job);
        const dead = await s.settle(job.id, "dead_letter");
        expect(dead.errorMessage).toBe('Handler for "rules.bad" did not return a JobResult');
        expect((of(job.id).events()[1]!.error as PorticoError).code).toBe("invalid_result");
        expect(of(job.id).types()).toEqual([JobEventType.STARTED, JobEventType.DEAD_LETTER]);
      } finally {
        await s.stop();
      }
    });

    test("a failure is retried with backoff: job:retrying and a job.retrying warning, then job:completed", async () => {
      let calls = 0;
      const flaky: JobHandler = {
        jobType: "rules.flaky",
        handle: async () => (++calls === 1 ? { success: false, error: new Error("first try") } : { success: true, resultData: calls }),
      };
      const { s, of } = await session([flaky], { type: "fixed", baseMs: 1, jitter: false });
      try {
        const job = dueJob({ jobType: "rules.flaky", maxRetries: 2 });
        await s.enqueue(job);
        const done = await s.settle(job.id, "completed");
        expect(done).toMatchObject({ retryCount: 1, attempts: 2, result: 2, errorMessage: "first try" });
        expect(of(job.id).types()).toEqual([JobEventType.STARTED, JobEventType.RETRYING, JobEventType.STARTED, JobEventType.COMPLETED]);
        const retrying = of(job.id).events()[1]!;
        expect(retrying.job).toMatchObject({ status: "retrying", retryCount: 1 });
        expect(retrying.error?.message).toBe("first try");
        expect(of(job.id).logs()).toContainEqual(expect.objectContaining({ level: "warn", event: "job.retrying" }));
      } finally {
        await s.stop();
      }
    });

    test("onFailure's own error is logged (job.on_failure_error) and changes nothing", async () => {
      const seen: string[] = [];
      const handler: JobHandler = {
        jobType: "rules.final",
        handle: async () => ({ success: false, retryable: false, error: new Error("not retryable") }),
        onFailure: async (_job, error) => {
          seen.push(error.message);
          throw new Error("hook broke");
        },
      };
      const { s, of } = await session([handler]);
      try {
        const job = dueJob({ jobType: "rules.final", maxRetries: 3 });
        await s.enqueue(job);
        const failed = await s.settle(job.id, "failed");
        expect(failed.errorMessage).toBe("not retryable");
        expect(failed.retryCount).toBe(0);
        expect(seen).toEqual(["not retryable"]);
        const hook = of(job.id).logs().find((l) => l.event === "job.on_failure_error");
        expect(hook?.level).toBe("error");
        expect((hook?.fields.error as Error).message).toBe("hook broke");
        expect(hook?.fields.jobType).toBe("rules.final");
        expect(of(job.id).types()).toEqual([JobEventType.STARTED, JobEventType.FAILED]);
      } finally {
        await s.stop();
      }
    });

    test("a record of handlers routes by its keys, not by each handler's jobType", async () => {
      const named: JobHandler = { jobType: "rules.inner", handle: async () => ({ success: true, resultData: "by key" }) };
      const { s } = await session({ "rules.outer": named });
      try {
        const byKey = dueJob({ jobType: "rules.outer" });
        const byType = dueJob({ jobType: "rules.inner" });
        await s.enqueue(byKey);
        await s.enqueue(byType);
        expect((await s.settle(byKey.id, "completed")).result).toBe("by key");
        expect((await s.settle(byType.id, "failed")).errorMessage).toBe('No handler registered for job type "rules.inner"');
      } finally {
        await s.stop();
      }
    });
  });
}
