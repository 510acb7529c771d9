/**
 * Type tests of the public API (checked by vitest's typecheck and by `tsc -p tsconfig.json`).
 * Names and shapes come from DESIGN.md's public contract.
 */
import { describe, expectTypeOf, test } from "vitest";
import {
  JobService,
  JobStatus,
  JobValidationError,
  UnknownJobTypeError,
  WorkerManager,
  createJsonLogger,
  silentLogger,
  type BackoffOptions,
  type CreateJobOptions,
  type Job,
  type JobCreator,
  type JobHandler,
  type JobQueue,
  type JobResult,
  type JobTrigger,
  type Logger,
  type QueueStats,
  type StandardSchemaV1,
} from "../../src/core/index.ts";
import { MemoryJobQueue } from "../../src/drivers/memory.ts";

interface EmailPayload {
  to: string;
  subject: string;
  attachments?: { name: string; bytes: number }[];
}
interface EmailResult {
  messageId: string;
}

describe("handlers", () => {
  test("a typed handler's payload type flows into handle's job.payload", () => {
    const handler: JobHandler<EmailPayload, EmailResult> = {
      jobType: "email.send",
      async handle(job, context) {
        expectTypeOf(job).toEqualTypeOf<Job<EmailPayload>>();
        expectTypeOf(job.payload.to).toEqualTypeOf<string>();
        expectTypeOf(job.payload.attachments).toEqualTypeOf<{ name: string; bytes: number }[] | undefined>();
        expectTypeOf(context.signal).toEqualTypeOf<AbortSignal>();
        // @ts-expect-error: not a field of the payload
        void job.payload.cc;
        return { success: true, resultData: { messageId: "m-1" } };
      },
      async onFailure(job, error) {
        expectTypeOf(job.payload).toEqualTypeOf<EmailPayload>();
        expectTypeOf(error).toEqualTypeOf<Error>();
      },
    };
    expectTypeOf(handler.handle).returns.resolves.toEqualTypeOf<JobResult<EmailResult>>();
    expectTypeOf(handler.jobType).toEqualTypeOf<string>();
  });

  test("a handler's result type is checked", () => {
    const bad: JobHandler<EmailPayload, EmailResult> = {
      jobType: "email.send",
      // @ts-expect-error: resultData must be an EmailResult
      handle: async () => ({ success: true, resultData: { id: 1 } }),
    };
    void bad;
  });

  test("typed handlers are accepted by WorkerManager and JobService, as a list or a record", () => {
    const queue = new MemoryJobQueue();
    const email: JobHandler<EmailPayload, EmailResult> = { jobType: "email.send", handle: async () => ({ success: true, resultData: { messageId: "x" } }) };
    const report: JobHandler<{ id: number }> = { jobType: "report", handle: async () => ({ success: true }) };
    void new WorkerManager({ queue, handlers: [email, report] });
    void new WorkerManager({ queue, handlers: { "email.send": email, report } });
    void new JobService({ queue, handlers: [email, report] });
  });
});

describe("job creation", () => {
  test("createJob<P> returns Job<P>, inferred from the payload or given explicitly", async () => {
    const service = new JobService({ queue: new MemoryJobQueue() });
    expectTypeOf(service.createJob("email.send", { to: "a@b.c", subject: "hi" })).resolves.toEqualTypeOf<Job<{ to: string; subject: string }>>();
    expectTypeOf(service.createJob<EmailPayload>("email.send", { to: "a@b.c", subject: "hi" })).resolves.toEqualTypeOf<Job<EmailPayload>>();
    // @ts-expect-error: the payload does not match the explicit type
    void service.createJob<EmailPayload>("email.send", { to: 1 });
  });

  test("the payload type of a handler can drive createJob", () => {
    type PayloadOf<H> = H extends JobHandler<infer P, any> ? P : never;
    const email: JobHandler<EmailPayload> = { jobType: "email.send", handle: async () => ({ success: true }) };
    const creator: JobCreator = new JobService({ queue: new MemoryJobQueue() });
    expectTypeOf<PayloadOf<typeof email>>().toEqualTypeOf<EmailPayload>();
    expectTypeOf(creator.createJob<PayloadOf<typeof email>>).parameter(1).toEqualTypeOf<EmailPayload>();
    // @ts-expect-error: subject is missing
    void creator.createJob<PayloadOf<typeof email>>(email.jobType, { to: "x" });
  });

  test("JobService implements JobCreator; createJobs returns Job[]", () => {
    expectTypeOf<JobService>().toMatchTypeOf<JobCreator>();
    const service = new JobService({ queue: new MemoryJobQueue() });
    expectTypeOf(service.createJobs).parameter(0).toMatchTypeOf<readonly { jobType: string; payload: unknown; options?: CreateJobOptions }[]>();
    expectTypeOf(service.createJobs).returns.resolves.toEqualTypeOf<Job[]>();
  });

  test("CreateJobOptions has the documented fields", () => {
    expectTypeOf<CreateJobOptions>().toEqualTypeOf<{
      queueName?: string;
      priority?: number;
      scheduledAt?: Date;
      delayMs?: number;
      maxRetries?: number;
      createdBy?: string;
      metadata?: Record<string, unknown>;
      idempotencyKey?: string;
      timeoutMs?: number;
      concurrencyKey?: string;
      concurrencyLimit?: number;
      rateLimit?: { key: string; limit: number; periodMs: number };
      debounce?: { key: string; delayMs: number; maxDelayMs?: number };
    }>();
  });
});

describe("the model", () => {
  test("JobStatus is a const object and a union type of its values", () => {
    expectTypeOf(JobStatus.PENDING).toEqualTypeOf<"pending">();
    expectTypeOf(JobStatus.DEAD_LETTER).toEqualTypeOf<"dead_letter">();
    expectTypeOf<JobStatus>().toEqualTypeOf<"pending" | "scheduled" | "running" | "completed" | "failed" | "retrying" | "dead_letter" | "cancelled">();
  });

  test("Job has the seed's fields in camelCase", () => {
    expectTypeOf<Job<{ a: 1 }>>().toMatchTypeOf<{
      id: string;
      queueName: string;
      jobType: string;
      payload: { a: 1 };
      priority: number;
      maxRetries: number;
      retryCount: number;
      scheduledAt: Date | null;
      startedAt: Date | null;
      completedAt: Date | null;
      failedAt: Date | null;
      status: JobStatus;
      errorMessage: string | null;
      createdBy: string | null;
      createdAt: Date;
      metadata: Record<string, unknown>;
      idempotencyKey: string | null;
      result: unknown;
    }>();
    expectTypeOf<Job["payload"]>().toEqualTypeOf<unknown>();
  });

  test("JobResult<R>", () => {
    expectTypeOf<JobResult<number>>().toEqualTypeOf<{ success: boolean; resultData?: number; error?: Error; retryable?: boolean }>();
  });

  test("JobTrigger", () => {
    expectTypeOf<JobTrigger>().toEqualTypeOf<{ start(): Promise<void>; stop(): Promise<void>; readonly isRunning: boolean }>();
  });
});

describe("services", () => {
  test("JobService methods", () => {
    const service = new JobService({ queue: new MemoryJobQueue() });
    expectTypeOf(service.getJob).returns.resolves.toEqualTypeOf<Job | null>();
    expectTypeOf(service.cancelJob).returns.resolves.toEqualTypeOf<boolean>();
    expectTypeOf(service.retryJob).returns.resolves.toEqualTypeOf<Job>();
    expectTypeOf(service.listJobs).returns.resolves.toEqualTypeOf<Job[]>();
    expectTypeOf(service.listJobs).parameter(0).toMatchTypeOf<{ status?: JobStatus; queueName?: string; jobType?: string; limit?: number } | undefined>();
    expectTypeOf(service.stats).returns.resolves.toEqualTypeOf<QueueStats>();
    expectTypeOf<ConstructorParameters<typeof JobService>[0]["schemas"]>().toEqualTypeOf<Record<string, StandardSchemaV1> | undefined>();
  });

  test("WorkerManager options and methods", () => {
    const w = new WorkerManager({ queue: new MemoryJobQueue(), handlers: [], queues: ["a"], concurrency: 2, leaseMs: 1_000, backoff: { type: "fixed", baseMs: 1, maxMs: 2, jitter: false }, logger: silentLogger });
    expectTypeOf(w.start).returns.toEqualTypeOf<Promise<void>>();
    expectTypeOf(w.stop).parameter(0).toEqualTypeOf<{ graceful?: boolean; timeoutMs?: number } | undefined>();
    expectTypeOf(w.isRunning).toEqualTypeOf<boolean>();
    expectTypeOf(w).toMatchTypeOf<EventTarget>();
    expectTypeOf<BackoffOptions>().toEqualTypeOf<{ type?: "exponential" | "fixed"; baseMs?: number; maxMs?: number; jitter?: boolean }>();
  });

  test("Logger, silentLogger and the JSON logger", () => {
    expectTypeOf(silentLogger).toEqualTypeOf<Logger>();
    expectTypeOf(createJsonLogger()).toEqualTypeOf<Logger>();
    expectTypeOf<Logger["info"]>().toEqualTypeOf<(event: string, fields?: object) => void>();
  });

  test("errors and the memory driver", () => {
    expectTypeOf<UnknownJobTypeError>().toMatchTypeOf<Error>();
    expectTypeOf<JobValidationError["issues"]>().toEqualTypeOf<{ path: string; message: string }[]>();
    expectTypeOf<MemoryJobQueue>().toMatchTypeOf<JobQueue>();
  });
});
