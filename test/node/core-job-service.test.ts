/** JobService: validation, defaults, scheduling, batches, idempotency and management calls. */
import * as v from "valibot";
import { describe, expect, test } from "vitest";
import {
  JobNotFoundError,
  JobService,
  JobStateError,
  JobStatus,
  JobValidationError,
  UnknownJobTypeError,
  isDuplicateJob,
  type JobHandler,
} from "../../src/core/index.ts";
import { MemoryJobQueue } from "../../src/drivers/memory.ts";

const NOW = Date.UTC(2030, 5, 1, 12);
const handler = (jobType: string): JobHandler => ({ jobType, handle: async () => ({ success: true }) });

function setup(options: { handlers?: JobHandler[]; schemas?: Record<string, v.GenericSchema> } = {}) {
  const queue = new MemoryJobQueue();
  const service = new JobService({ queue, clock: () => NOW, ...options });
  return { queue, service };
}

/** Runs `fn`, expects a JobValidationError and returns it. */
async function validationError(fn: () => Promise<unknown>): Promise<JobValidationError> {
  const error = await fn().then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(JobValidationError);
  return error as JobValidationError;
}

describe("createJob defaults and scheduling", () => {
  test("a job gets the documented defaults and is PENDING", async () => {
    const { service, queue } = setup();
    const job = await service.createJob("email.send", { to: "a@example.com" });
    expect(job).toMatchObject({
      queueName: "default",
      jobType: "email.send",
      payload: { to: "a@example.com" },
      priority: 0,
      maxRetries: 3,
      retryCount: 0,
      status: JobStatus.PENDING,
      scheduledAt: null,
      startedAt: null,
      completedAt: null,
      failedAt: null,
      errorMessage: null,
      createdBy: null,
      metadata: {},
      idempotencyKey: null,
      result: null,
      attempts: 0,
      timeoutMs: null,
    });
    expect(job.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(job.createdAt.getTime()).toBe(NOW);
    expect(job.runAt.getTime()).toBe(NOW);
    expect(await queue.get(job.id)).toEqual(job);
  });

  test("options are stored as given", async () => {
    const { service } = setup();
    const job = await service.createJob("report", { id: 1 }, {
      queueName: "reports",
      priority: 10,
      maxRetries: 0,
      createdBy: "user-7",
      metadata: { campaign: "onboarding" },
      idempotencyKey: "r-1",
      timeoutMs: 5_000,
    });
    expect(job).toMatchObject({
      queueName: "reports",
      priority: 10,
      maxRetries: 0,
      createdBy: "user-7",
      metadata: { campaign: "onboarding" },
      idempotencyKey: "r-1",
      timeoutMs: 5_000,
    });
  });

  test("scheduledAt in the future makes the job SCHEDULED and due then", async () => {
    const { service } = setup();
    const at = new Date(NOW + 3_600_000);
    const job = await service.createJob("reminder.send", { user: "123" }, { scheduledAt: at });
    expect(job.status).toBe(JobStatus.SCHEDULED);
    expect(job.scheduledAt?.getTime()).toBe(at.getTime());
    expect(job.runAt.getTime()).toBe(at.getTime());
    // The caller's Date is copied, not kept.
    at.setTime(0);
    expect(job.scheduledAt?.getTime()).toBe(NOW + 3_600_000);
  });

  test("scheduledAt in the past (or now) gives a PENDING job", async () => {
    const { service } = setup();
    const past = await service.createJob("x", {}, { scheduledAt: new Date(NOW - 1) });
    const now = await service.createJob("x", {}, { scheduledAt: new Date(NOW) });
    expect(past.status).toBe(JobStatus.PENDING);
    expect(now.status).toBe(JobStatus.PENDING);
  });

  test("delayMs schedules relative to the clock; scheduledAt wins over delayMs", async () => {
    const { service } = setup();
    const delayed = await service.createJob("x", {}, { delayMs: 2_000 });
    expect(delayed.status).toBe(JobStatus.SCHEDULED);
    expect(delayed.runAt.getTime()).toBe(NOW + 2_000);
    const both = await service.createJob("x", {}, { delayMs: 2_000, scheduledAt: new Date(NOW + 9_000) });
    expect(both.runAt.getTime()).toBe(NOW + 9_000);
  });

  test("the stored payload is a copy: mutating the caller's object later changes nothing", async () => {
    const { service } = setup();
    const payload = { list: [1, 2], nested: { a: 1 } };
    const job = await service.createJob("x", payload);
    payload.list.push(3);
    payload.nested.a = 2;
    expect((await service.getJob(job.id))?.payload).toEqual({ list: [1, 2], nested: { a: 1 } });
  });

  test("undefined object properties are dropped like JSON would, not rejected", async () => {
    const { service } = setup();
    const job = await service.createJob("x", { a: 1, b: undefined });
    expect(job.payload).toEqual({ a: 1 });
    expect(Object.keys(job.payload)).toEqual(["a"]);
  });
});

describe("createJob validation", () => {
  test("an unknown job type is an UnknownJobTypeError when handlers are given", async () => {
    const { service, queue } = setup({ handlers: [handler("email.send"), handler("sms.send")] });
    const error = await service.createJob("nonexistent.job", {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnknownJobTypeError);
    expect((error as UnknownJobTypeError).jobType).toBe("nonexistent.job");
    expect((error as UnknownJobTypeError).code).toBe("unknown_job_type");
    expect((error as Error).message).toContain("nonexistent.job");
    expect((error as Error).message).toContain("email.send");
    expect((await queue.stats()).total).toBe(0);
    await expect(service.createJob("sms.send", {})).resolves.toMatchObject({ jobType: "sms.send" });
  });

  test("job types named like Object.prototype members are plain unknown types, not schemas or handlers", async () => {
    const { service, queue } = setup({ handlers: [handler("email.send")] });
    for (const jobType of ["constructor", "toString", "__proto__", "hasOwnProperty"]) {
      await expect(service.createJob(jobType, {})).rejects.toBeInstanceOf(UnknownJobTypeError);
    }
    expect((await queue.stats()).total).toBe(0);
    const open = new JobService({ queue, schemas: {} });
    await expect(open.createJob("constructor", { a: 1 })).resolves.toMatchObject({ jobType: "constructor", payload: { a: 1 } });
  });

  test("handlers given as a record are accepted too", async () => {
    const queue = new MemoryJobQueue();
    const service = new JobService({ queue, handlers: { "email.send": handler("email.send") } });
    await expect(service.createJob("email.send", {})).resolves.toBeDefined();
    // @ts-expect-error: "other" has no handler, a compile error, and refused at run time too
    await expect(service.createJob("other", {})).rejects.toBeInstanceOf(UnknownJobTypeError);
  });

  test("without handlers any job type is accepted", async () => {
    const { service } = setup();
    await expect(service.createJob("anything.goes", {})).resolves.toMatchObject({ jobType: "anything.goes" });
  });

  test("an empty job type is rejected", async () => {
    const { service } = setup();
    const error = await validationError(() => service.createJob("", {}));
    expect(error.issues[0]?.path).toBe("jobType");
  });

  test.each([
    ["a function", { user: { notify: () => {} } }, "payload.user.notify", /function/],
    ["a BigInt", { amount: 10n }, "payload.amount", /BigInt/],
    ["a Date object", { when: new Date(NOW) }, "payload.when", /Date/],
    ["NaN", { ratio: Number.NaN }, "payload.ratio", /finite/],
    ["Infinity", { items: [1, Number.POSITIVE_INFINITY] }, "payload.items[1]", /finite/],
    ["a Map", { index: new Map() }, "payload.index", /Map/],
    ["a symbol", { s: Symbol("x") }, "payload.s", /symbol/],
    ["undefined in an array", { list: [1, undefined] }, "payload.list[1]", /undefined/],
  ])("a payload with %s is a JobValidationError naming %s", async (_label, payload, path, message) => {
    const { service, queue } = setup();
    const error = await validationError(() => service.createJob("email.send", payload));
    expect(error.code).toBe("validation_failed");
    expect(error.jobType).toBe("email.send");
    expect(error.issues).toContainEqual({ path, message: expect.stringMatching(message) });
    expect(error.message).toContain(path);
    expect(error.message).toContain("email.send");
    expect((await queue.stats()).total).toBe(0);
  });

  test("a cyclic payload is a JobValidationError naming the field that closes the cycle", async () => {
    const { service } = setup();
    const node: Record<string, unknown> = { name: "root", child: { name: "child" } };
    (node.child as Record<string, unknown>).parent = node;
    const error = await validationError(() => service.createJob("tree", node));
    expect(error.issues).toEqual([{ path: "payload.child.parent", message: expect.stringMatching(/circular/) }]);
  });

  test("a shared (non-cyclic) sub-object is fine", async () => {
    const { service } = setup();
    const shared = { x: 1 };
    const job = await service.createJob("dag", { a: shared, b: shared, list: [shared, shared] });
    expect(job.payload).toEqual({ a: { x: 1 }, b: { x: 1 }, list: [{ x: 1 }, { x: 1 }] });
  });

  test("every bad field is reported, not only the first", async () => {
    const { service } = setup();
    const error = await validationError(() => service.createJob("x", { a: 1n, b: { c: () => 1 } }, { priority: 1.5 }));
    expect(error.issues.map((i) => i.path).sort()).toEqual(["options.priority", "payload.a", "payload.b.c"]);
    expect(error.message).toMatch(/and 2 more/);
  });

  test.each([
    ["priority", { priority: 1.5 }],
    ["priority", { priority: "high" }],
    ["maxRetries", { maxRetries: -1 }],
    ["delayMs", { delayMs: -5 }],
    ["timeoutMs", { timeoutMs: 0 }],
    ["scheduledAt", { scheduledAt: "2030-01-01" }],
    ["scheduledAt", { scheduledAt: new Date(Number.NaN) }],
    ["queueName", { queueName: "" }],
    ["idempotencyKey", { idempotencyKey: 42 }],
    ["createdBy", { createdBy: "x".repeat(513) }],
    ["metadata", { metadata: [1, 2] }],
  ])("invalid options.%s is a JobValidationError naming it", async (field, options) => {
    const { service, queue } = setup();
    const error = await validationError(() => service.createJob("x", {}, options as never));
    expect(error.issues.map((i) => i.path)).toEqual([`options.${field}`]);
    expect(error.message).toContain(`options.${field}`);
    expect((await queue.stats()).total).toBe(0);
  });

  test("options that are not an object are rejected by name; null means no options", async () => {
    const { service, queue } = setup();
    for (const bad of ["urgent", 5, [1]]) {
      const error = await validationError(() => service.createJob("x", {}, bad as never));
      expect(error.issues).toEqual([{ path: "options", message: expect.stringMatching(/must be an object/) }]);
    }
    expect((await queue.stats()).total).toBe(0);
    await expect(service.createJob("x", {}, null as never)).resolves.toMatchObject({ queueName: "default", priority: 0 });
  });

  test("metadata must be JSON too, with its path named", async () => {
    const { service } = setup();
    const error = await validationError(() => service.createJob("x", {}, { metadata: { at: new Date() } }));
    expect(error.issues[0]?.path).toBe("options.metadata.at");
  });

  test("a Standard Schema (valibot) rejects a payload with issue paths", async () => {
    const schema = v.object({
      to: v.pipe(v.string(), v.email()),
      items: v.array(v.object({ sku: v.string(), qty: v.pipe(v.number(), v.minValue(1)) })),
    });
    const { service, queue } = setup({ schemas: { "order.ship": schema } });
    const error = await validationError(() =>
      service.createJob("order.ship", { to: "not-an-email", items: [{ sku: "a", qty: 1 }, { sku: "b", qty: 0 }] }),
    );
    expect(error.issues.map((i) => i.path).sort()).toEqual(["payload.items[1].qty", "payload.to"]);
    for (const issue of error.issues) expect(issue.message.length).toBeGreaterThan(0);
    expect((await queue.stats()).total).toBe(0);
  });

  test("a schema's output becomes the stored payload", async () => {
    const schema = v.object({ name: v.pipe(v.string(), v.trim()), count: v.optional(v.number(), 1) });
    const { service } = setup({ schemas: { greet: schema } });
    const job = await service.createJob("greet", { name: "  Ada  " });
    expect(job.payload).toEqual({ name: "Ada", count: 1 });
  });

  test("a schema only applies to its job type", async () => {
    const { service } = setup({ schemas: { strict: v.object({ a: v.string() }) } });
    await expect(service.createJob("loose", { anything: 1 })).resolves.toBeDefined();
    await expect(service.createJob("strict", { a: 1 })).rejects.toBeInstanceOf(JobValidationError);
  });
});

describe("createJobs", () => {
  test("stores a batch and returns jobs in input order", async () => {
    const { service, queue } = setup();
    const jobs = await service.createJobs([
      { jobType: "a", payload: { i: 0 } },
      { jobType: "b", payload: { i: 1 }, options: { queueName: "other", priority: 3 } },
      { jobType: "c", payload: { i: 2 }, options: { delayMs: 1_000 } },
    ]);
    expect(jobs.map((j) => j.jobType)).toEqual(["a", "b", "c"]);
    expect(jobs[1]).toMatchObject({ queueName: "other", priority: 3 });
    expect(jobs[2]?.status).toBe(JobStatus.SCHEDULED);
    expect((await queue.stats()).total).toBe(3);
  });

  test("one invalid job stores nothing (all or nothing)", async () => {
    const { service, queue } = setup({ handlers: [handler("a")] });
    const error = await validationError(() =>
      service.createJobs([
        { jobType: "a", payload: { ok: true } },
        { jobType: "a", payload: { bad: 1n } },
        { jobType: "a", payload: { ok: true } },
      ]),
    );
    expect(error.issues[0]?.path).toBe("payload.bad");
    expect((await queue.stats()).total).toBe(0);
    await expect(service.createJobs([{ jobType: "a", payload: {} }, { jobType: "zzz", payload: {} }])).rejects.toBeInstanceOf(
      UnknownJobTypeError,
    );
    expect((await queue.stats()).total).toBe(0);
  });

  test("uses one store operation for the whole batch", async () => {
    const { service, queue } = setup();
    let calls = 0;
    const enqueue = queue.enqueue.bind(queue);
    queue.enqueue = (jobs) => {
      calls++;
      return enqueue(jobs);
    };
    await service.createJobs(Array.from({ length: 50 }, (_, i) => ({ jobType: "x", payload: { i } })));
    expect(calls).toBe(1);
  });

  test("an empty batch returns [] without touching the store", async () => {
    const { service, queue } = setup();
    expect(await service.createJobs([])).toEqual([]);
    expect((await queue.stats()).total).toBe(0);
  });

  test("duplicate idempotency keys in a batch resolve to one job, flagged as duplicates", async () => {
    const { service, queue } = setup();
    const jobs = await service.createJobs([
      { jobType: "x", payload: { v: 1 }, options: { idempotencyKey: "k" } },
      { jobType: "x", payload: { v: 2 }, options: { idempotencyKey: "k" } },
    ]);
    expect(jobs[1]?.id).toBe(jobs[0]?.id);
    expect(isDuplicateJob(jobs[0]!)).toBe(false);
    expect(isDuplicateJob(jobs[1]!)).toBe(true);
    expect((await queue.stats()).total).toBe(1);
  });
});

describe("idempotency", () => {
  test("a repeated key in the same queue returns the existing job, flagged by isDuplicateJob", async () => {
    const { service, queue } = setup();
    const first = await service.createJob("x", { v: 1 }, { idempotencyKey: "order-42" });
    const again = await service.createJob("x", { v: 2 }, { idempotencyKey: "order-42" });
    expect(again.id).toBe(first.id);
    expect(again.payload).toEqual({ v: 1 });
    expect(isDuplicateJob(first)).toBe(false);
    expect(isDuplicateJob(again)).toBe(true);
    // The flag is invisible to JSON and to key enumeration.
    expect(Object.keys(again)).not.toContain("duplicate");
    expect(JSON.parse(JSON.stringify(again))).toEqual(JSON.parse(JSON.stringify(first)));
    expect((await queue.stats()).total).toBe(1);
  });

  test("the same key in another queue creates a new job", async () => {
    const { service } = setup();
    const a = await service.createJob("x", {}, { idempotencyKey: "k", queueName: "a" });
    const b = await service.createJob("x", {}, { idempotencyKey: "k", queueName: "b" });
    expect(b.id).not.toBe(a.id);
    expect(isDuplicateJob(b)).toBe(false);
  });
});

describe("management", () => {
  test("getJob, listJobs and stats reflect the store", async () => {
    const { service } = setup();
    const a = await service.createJob("email", {}, { queueName: "q1" });
    await service.createJob("report", {}, { queueName: "q2" });
    expect((await service.getJob(a.id))?.id).toBe(a.id);
    expect(await service.getJob("missing")).toBeNull();
    expect((await service.listJobs({ jobType: "report" })).map((j) => j.queueName)).toEqual(["q2"]);
    expect((await service.listJobs()).length).toBe(2);
    const stats = await service.stats();
    expect(stats.total).toBe(2);
    expect(stats.byStatus.pending).toBe(2);
    expect(stats.byQueue.q1?.pending).toBe(1);
  });

  test("cancelJob cancels pending, scheduled and running jobs, and no finished one", async () => {
    const { service, queue } = setup();
    const pending = await service.createJob("x", {});
    const scheduled = await service.createJob("x", {}, { delayMs: 60_000 });
    expect(await service.cancelJob(pending.id)).toBe(true);
    expect(await service.cancelJob(scheduled.id)).toBe(true);
    expect(await service.cancelJob(pending.id)).toBe(false);
    expect(await service.cancelJob("missing")).toBe(false);
    expect((await service.getJob(scheduled.id))?.status).toBe(JobStatus.CANCELLED);
    const running = await service.createJob("x", {});
    const [claim] = await queue.claim({ queues: ["default"], limit: 1, leaseMs: 1_000, workerId: "w", now: NOW });
    expect(await service.cancelJob(running.id)).toBe(true);
    expect((await service.getJob(running.id))?.status).toBe(JobStatus.CANCELLED);
    // The holder learns at its next renewal, and its completion is refused.
    expect(await queue.extendLease(claim!, 1_000, NOW + 1)).toBe("cancelled");
    expect(await queue.complete(claim!, "late", NOW + 1)).toBe(false);
    expect(await service.cancelJob(running.id)).toBe(false);
  });

  test("retryJob re-drives a dead-lettered job; other states give typed errors", async () => {
    const { service, queue } = setup();
    const job = await service.createJob("x", {}, { maxRetries: 0 });
    const [c] = await queue.claim({ queues: ["default"], limit: 1, leaseMs: 1_000, workerId: "w", now: NOW });
    await queue.fail(c!, "boom", { status: "dead_letter" }, NOW + 1);
    const retried = await service.retryJob(job.id);
    expect(retried).toMatchObject({ id: job.id, status: JobStatus.PENDING, retryCount: 0 });
    await expect(service.retryJob(job.id)).rejects.toBeInstanceOf(JobStateError);
    await expect(service.retryJob("missing")).rejects.toBeInstanceOf(JobNotFoundError);
    const stateError = (await service.retryJob(job.id).catch((e: unknown) => e)) as JobStateError;
    expect(stateError.code).toBe("invalid_job_state");
    expect(stateError.message).toContain("pending");
  });
});
