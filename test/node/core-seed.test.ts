/**
 * The behaviours the seed documents (Job Creator and Job Handler ports, their FAQs and
 * "Important Notes"), translated to portico-jobs' TypeScript API. DESIGN.md wins where they differ:
 * a handler's success=false is retried unless it says retryable=false.
 */
import { afterEach, describe, expect, test } from "vitest";
import {
  JobService,
  JobStatus,
  JobValidationError,
  UnknownJobTypeError,
  WorkerManager,
  silentLogger,
  type Job,
  type JobCreator,
  type JobHandler,
  type JobResult,
  type Logger,
  type WorkerManagerOptions,
} from "../../src/core/index.ts";
import { MemoryJobQueue } from "../../src/drivers/memory.ts";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await check())) await sleep(2);
}

const running: WorkerManager[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((w) => w.stop({ graceful: false })));
});
async function startWorker(options: Partial<WorkerManagerOptions> & Pick<WorkerManagerOptions, "queue" | "handlers">) {
  const w = new WorkerManager({ logger: silentLogger, backoff: { baseMs: 1, jitter: false }, ...options });
  running.push(w);
  await w.start();
  return w;
}
const finished = (service: JobService, id: string, status: string) => until(async () => (await service.getJob(id))?.status === status);

describe("Job Creator port", () => {
  test("Job model defaults: priority 0, maxRetries 3, retryCount 0, PENDING, empty metadata, queue 'default'", async () => {
    const service = new JobService({ queue: new MemoryJobQueue() });
    const job = await service.createJob("email.send", { to: "user@example.com" });
    expect(job).toMatchObject({ queueName: "default", priority: 0, maxRetries: 3, retryCount: 0, status: JobStatus.PENDING, metadata: {}, scheduledAt: null });
    expect(job.createdAt).toBeInstanceOf(Date);
  });

  test("FAQ: scheduling for later gives a SCHEDULED (not PENDING) job that runs once due", async () => {
    const queue = new MemoryJobQueue();
    const service = new JobService({ queue });
    const job = await service.createJob("reminder.send", { user_id: "123", message: "Don't forget!" }, { scheduledAt: new Date(Date.now() + 60) });
    expect(job.status).toBe(JobStatus.SCHEDULED);
    const ranAt: number[] = [];
    await startWorker({ queue, handlers: [{ jobType: "reminder.send", handle: async () => (ranAt.push(Date.now()), { success: true }) }] });
    await finished(service, job.id, JobStatus.COMPLETED);
    expect(ranAt).toHaveLength(1);
    expect(ranAt[0]!).toBeGreaterThanOrEqual(job.scheduledAt!.getTime());
  });

  test("FAQ: the optional kwargs (scheduledAt, maxRetries, createdBy, metadata) are accepted and stored", async () => {
    const service = new JobService({ queue: new MemoryJobQueue(), clock: () => 1_000 });
    const job = await service.createJob("payment.process", { transaction_id: "txn_789", amount: 99.99 }, {
      queueName: "payments",
      priority: 10,
      scheduledAt: new Date(5_000),
      maxRetries: 7,
      createdBy: "3f1c0e55-2a4b-4e47-9f55-0d6d2b1c9a10",
      metadata: { campaign: "onboarding" },
    });
    expect(job).toMatchObject({ queueName: "payments", priority: 10, maxRetries: 7, createdBy: "3f1c0e55-2a4b-4e47-9f55-0d6d2b1c9a10", metadata: { campaign: "onboarding" } });
    expect(job.scheduledAt?.getTime()).toBe(5_000);
  });

  test("FAQ: a payload converted to JSON types is accepted; the unconverted one is rejected", async () => {
    const service = new JobService({ queue: new MemoryJobQueue() });
    const when = new Date("2030-01-02T03:04:05.000Z");
    const converted = { user_id: String(12345), timestamp: when.toISOString(), amount: Number("19.90"), data: { ...{ a: 1 } } };
    await expect(service.createJob("user.process", converted)).resolves.toMatchObject({ payload: converted });
    const error = await service.createJob("user.process", { user_id: 12345n, timestamp: when }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobValidationError);
    expect((error as JobValidationError).issues.map((i) => i.path).sort()).toEqual(["payload.timestamp", "payload.user_id"]);
  });

  test("FAQ: an unregistered job type raises (UnknownJobTypeError, the seed's ValueError) and creates nothing", async () => {
    const queue = new MemoryJobQueue();
    const handlers: JobHandler[] = [{ jobType: "email.send", handle: async () => ({ success: true }) }];
    const service = new JobService({ queue, handlers });
    await expect(service.createJob("nonexistent.job", {})).rejects.toThrow(UnknownJobTypeError);
    await expect(service.createJob("nonexistent.job", {})).rejects.toThrow(/nonexistent\.job/);
    expect((await queue.stats()).total).toBe(0);
  });

  test("FAQ: code that creates jobs depends on the JobCreator port and can be tested with a stub", async () => {
    class SignupAdapter {
      constructor(private readonly jobs: JobCreator) {}
      async onSignup(email: string) {
        await this.jobs.createJob("email.send", { to: email, template: "welcome_email" }, { queueName: "emails" });
      }
    }
    const created: { jobType: string; payload: unknown }[] = [];
    const stub: JobCreator = {
      async createJob<P>(jobType: string, payload: P) {
        created.push({ jobType, payload });
        return { id: "stub", jobType, payload } as Job<P>;
      },
    };
    await new SignupAdapter(stub).onSignup("new@example.com");
    expect(created).toEqual([{ jobType: "email.send", payload: { to: "new@example.com", template: "welcome_email" } }]);
    // And the real service fits the same port.
    const queue = new MemoryJobQueue();
    const real: JobCreator = new JobService({ queue });
    await new SignupAdapter(real).onSignup("x@example.com");
    expect((await queue.list({ queueName: "emails" })).map((j) => j.payload)).toEqual([{ to: "x@example.com", template: "welcome_email" }]);
  });

  test("FAQ: createJob is asynchronous: it returns a Promise of the job", () => {
    const service = new JobService({ queue: new MemoryJobQueue() });
    const pending = service.createJob("x", {});
    expect(pending).toBeInstanceOf(Promise);
    return pending.then((job) => expect(job.status).toBe(JobStatus.PENDING));
  });
});

describe("Job Handler port", () => {
  test("a successful handler acknowledges the job: COMPLETED with its resultData", async () => {
    const queue = new MemoryJobQueue();
    const service = new JobService({ queue });
    const handler: JobHandler<{ recipient: string }, { recipient: string }> = {
      jobType: "email.send",
      handle: async (job) => ({ success: true, resultData: { recipient: job.payload.recipient } }),
    };
    const job = await service.createJob("email.send", { recipient: "a@example.com" });
    await startWorker({ queue, handlers: [handler] });
    await finished(service, job.id, JobStatus.COMPLETED);
    const done = await service.getJob(job.id);
    expect(done?.result).toEqual({ recipient: "a@example.com" });
    expect(done?.completedAt).toBeInstanceOf(Date);
    expect(done?.startedAt).toBeInstanceOf(Date);
  });

  test("FAQ: raise for transient errors (retried); return success=false, retryable=false for expected ones (not retried)", async () => {
    const queue = new MemoryJobQueue();
    const service = new JobService({ queue });
    let charges = 0;
    const handler: JobHandler<{ amount: number }> = {
      jobType: "payment.charge",
      async handle(job): Promise<JobResult> {
        if (job.payload.amount < 0) return { success: false, retryable: false, error: new Error("Amount must be positive") };
        if (++charges < 3) throw new Error("ConnectionError");
        return { success: true };
      },
    };
    const bad = await service.createJob("payment.charge", { amount: -5 });
    const flaky = await service.createJob("payment.charge", { amount: 10 });
    await startWorker({ queue, handlers: [handler], concurrency: 1 });
    await finished(service, flaky.id, JobStatus.COMPLETED);
    await finished(service, bad.id, JobStatus.FAILED);
    expect(await service.getJob(bad.id)).toMatchObject({ retryCount: 0, attempts: 1, errorMessage: "Amount must be positive" });
    expect(await service.getJob(flaky.id)).toMatchObject({ retryCount: 2, attempts: 3 });
  });

  test("on_failure is called on every failure, including the ones that will be retried", async () => {
    const queue = new MemoryJobQueue();
    const service = new JobService({ queue });
    const calls: { retryCount: number; willRetry: boolean }[] = [];
    const alerts: string[] = [];
    const handler: JobHandler = {
      jobType: "report.generate",
      handle: async () => {
        throw new Error("renderer crashed");
      },
      // The seed's pattern: alert once the job has exhausted its retries.
      async onFailure(job, error) {
        calls.push({ retryCount: job.retryCount, willRetry: job.retryCount < job.maxRetries });
        if (job.retryCount >= job.maxRetries) alerts.push(`Job ${job.id} failed after ${job.maxRetries} retries: ${error.message}`);
      },
    };
    const job = await service.createJob("report.generate", {}, { maxRetries: 2 });
    await startWorker({ queue, handlers: [handler] });
    await finished(service, job.id, JobStatus.DEAD_LETTER);
    expect(calls).toEqual([
      { retryCount: 0, willRetry: true },
      { retryCount: 1, willRetry: true },
      { retryCount: 2, willRetry: false },
    ]);
    expect(alerts).toEqual([`Job ${job.id} failed after 2 retries: renderer crashed`]);
  });

  test("FAQ: an exception in on_failure is logged and does not change retry or dead-letter", async () => {
    const queue = new MemoryJobQueue();
    const service = new JobService({ queue });
    const logged: string[] = [];
    const logger: Logger = { ...silentLogger, error: (event) => void logged.push(event) };
    let attempts = 0;
    const handler: JobHandler = {
      jobType: "cleanup.job",
      handle: async () => (++attempts < 2 ? { success: false, error: new Error("first try fails") } : { success: true }),
      onFailure: async () => {
        throw new Error("cleanup_failed");
      },
    };
    const job = await service.createJob("cleanup.job", {});
    await startWorker({ queue, handlers: [handler], logger });
    await finished(service, job.id, JobStatus.COMPLETED);
    expect(attempts).toBe(2);
    expect(logged).toContain("job.on_failure_error");
  });

  test("retries are exhausted after maxRetries, then the job is DEAD_LETTER", async () => {
    const queue = new MemoryJobQueue();
    const service = new JobService({ queue });
    const job = await service.createJob("webhook.send", { url: "http://127.0.0.1:1/" }, { maxRetries: 3 });
    await startWorker({ queue, handlers: [{ jobType: "webhook.send", handle: async () => ({ success: false, error: new Error("Webhook failed after all attempts") }) }] });
    await finished(service, job.id, JobStatus.DEAD_LETTER);
    expect(await service.getJob(job.id)).toMatchObject({ retryCount: 3, attempts: 4, errorMessage: "Webhook failed after all attempts" });
  });

  test("FAQ: priority processing: queues are checked in the configured order", async () => {
    const queue = new MemoryJobQueue();
    const service = new JobService({ queue });
    const order: string[] = [];
    const record = (jobType: string): JobHandler => ({ jobType, handle: async () => (order.push(jobType), { success: true }) });
    await service.createJob("report.generate", { report_id: "123" }, { queueName: "low_priority", priority: 1 });
    await service.createJob("cache.warm", {}, { queueName: "default" });
    await service.createJob("email.send", { recipient: "user@example.com" }, { queueName: "high_priority", priority: 10 });
    await startWorker({
      queue,
      handlers: { "email.send": record("email.send"), "report.generate": record("report.generate"), "cache.warm": record("cache.warm") },
      queues: ["high_priority", "default", "low_priority"],
      concurrency: 1,
    });
    await until(() => order.length === 3);
    expect(order).toEqual(["email.send", "cache.warm", "report.generate"]);
  });

  test("FAQ: long-running work is chunked: each chunk enqueues the next through the JobCreator", async () => {
    const queue = new MemoryJobQueue();
    const service = new JobService({ queue });
    const records = Array.from({ length: 2_500 }, (_, i) => i);
    const processed: number[] = [];
    const chunkSize = 1_000;
    const handler: JobHandler<{ batch_id: string; offset?: number }> = {
      jobType: "data.process_batch",
      async handle(job) {
        const offset = job.payload.offset ?? 0;
        const chunk = records.slice(offset, offset + chunkSize);
        processed.push(...chunk);
        if (chunk.length === chunkSize) {
          await (service as JobCreator).createJob("data.process_batch", { batch_id: job.payload.batch_id, offset: offset + chunkSize });
        }
        return { success: true, resultData: { processed: chunk.length, offset } };
      },
    };
    await service.createJob("data.process_batch", { batch_id: "b1" });
    await startWorker({ queue, handlers: [handler] });
    await until(async () => (await queue.stats()).byStatus.completed === 3);
    expect(processed).toEqual(records);
    const results = (await service.listJobs({ jobType: "data.process_batch" })).map((j) => j.result);
    expect(results).toEqual(expect.arrayContaining([{ processed: 1_000, offset: 0 }, { processed: 1_000, offset: 1_000 }, { processed: 500, offset: 2_000 }]));
  });

  test("FAQ: a dead-letter handler can inspect a dead job and re-drive it", async () => {
    const queue = new MemoryJobQueue();
    const service = new JobService({ queue });
    let smtpUp = false;
    const email: JobHandler = {
      jobType: "email.send",
      handle: async () => (smtpUp ? { success: true } : { success: false, error: new Error("TransientError: SMTP unavailable") }),
    };
    const deadLetter: JobHandler<{ dead_job_id: string }> = {
      jobType: "system.deadletter.process",
      async handle(job) {
        const dead = await service.getJob(job.payload.dead_job_id);
        if (!dead) return { success: true };
        const transient = /Transient/.test(dead.errorMessage ?? "");
        if (transient) await service.retryJob(dead.id);
        return { success: true, resultData: { analyzed: true, requeued: transient } };
      },
    };
    const job = await service.createJob("email.send", {}, { maxRetries: 1 });
    await startWorker({ queue, handlers: [email, deadLetter] });
    await finished(service, job.id, JobStatus.DEAD_LETTER);
    smtpUp = true;
    const analysis = await service.createJob("system.deadletter.process", { dead_job_id: job.id });
    await finished(service, analysis.id, JobStatus.COMPLETED);
    expect((await service.getJob(analysis.id))?.result).toEqual({ analyzed: true, requeued: true });
    await finished(service, job.id, JobStatus.COMPLETED);
    // retryJob starts the job afresh: one attempt since the re-drive, none retried.
    expect(await service.getJob(job.id)).toMatchObject({ attempts: 1, retryCount: 0 });
  });

  test("FAQ: handlers are testable in isolation, without a queue or a worker", async () => {
    const sent: string[] = [];
    const handler: JobHandler<{ recipient: string }> = {
      jobType: "email.send",
      async handle(job) {
        sent.push(job.payload.recipient);
        return { success: true, resultData: { sent_at: new Date(0).toISOString() } };
      },
    };
    const job = { id: "j1", queueName: "default", jobType: "email.send", payload: { recipient: "test@example.com" } } as Job<{ recipient: string }>;
    const result = await handler.handle(job, { signal: new AbortController().signal, attempt: 1, progress: async () => {} });
    expect(result.success).toBe(true);
    expect(result.resultData).toEqual({ sent_at: "1970-01-01T00:00:00.000Z" });
    expect(sent).toEqual(["test@example.com"]);
  });

  test("idempotent handlers: a re-delivered job keeps its id, so a job-id keyed side effect happens once", async () => {
    const queue = new MemoryJobQueue();
    const service = new JobService({ queue });
    const payments = new Map<string, number>();
    let deliveries = 0;
    const handler: JobHandler<{ amount: number }> = {
      jobType: "payment.process",
      async handle(job) {
        deliveries++;
        if (!payments.has(job.id)) payments.set(job.id, job.payload.amount);
        // The first delivery "crashes" after its side effect: its result is never recorded.
        if (deliveries === 1) throw new Error("connection reset after charging");
        return { success: true, resultData: { payment_id: job.id } };
      },
    };
    const job = await service.createJob("payment.process", { amount: 42 });
    await startWorker({ queue, handlers: [handler] });
    await finished(service, job.id, JobStatus.COMPLETED);
    expect(deliveries).toBe(2);
    expect([...payments.entries()]).toEqual([[job.id, 42]]);
  });
});
