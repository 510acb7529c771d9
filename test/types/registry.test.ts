/**
 * Type tests of the typed registry (JobService built with handlers) and of WorkerManager's
 * typed event listeners. Each `@ts-expect-error` line must fail to compile, so a registry that
 * lets a wrong payload or an unknown job type through fails `tsc` and vitest's typecheck.
 */
import { describe, expectTypeOf, test } from "vitest";
import {
  JobEvent,
  JobEventType,
  JobService,
  QueueEvent,
  QueueEventType,
  WorkerManager,
  type Job,
  type JobCreator,
  type JobHandler,
} from "../../src/core/index.ts";
import { MemoryJobQueue } from "../../src/drivers/memory.ts";
import { createWebhookTrigger } from "../../src/triggers/webhook/index.ts";

interface AddPayload {
  a: number;
  b: number;
}
interface EmailPayload {
  to: string;
  subject: string;
}

const queue = new MemoryJobQueue();
/** The checks are for the compiler: the calls are not run (some are meant not to compile). */
const typeOnly = (_checks: () => void): void => {};
// Declared the usual way: the annotation makes jobType a plain string.
const add: JobHandler<AddPayload, number> = { jobType: "add", handle: async (job) => ({ success: true, resultData: job.payload.a + job.payload.b }) };
// Declared with a literal job type: createJob can tell the handlers apart by it.
const email = { jobType: "email.send", handle: async (_job: Job<EmailPayload>) => ({ success: true }) } as const satisfies JobHandler<EmailPayload>;
const report: JobHandler<{ id: number }, unknown, "report"> = { jobType: "report", handle: async () => ({ success: true }) };

describe("createJob with one handler (the README case)", () => {
  const jobs = new JobService({ queue, handlers: [add] });

  test("the handler's payload type is createJob's payload type", () => typeOnly(() => {
    expectTypeOf(jobs.createJob("add", { a: 1, b: 2 })).resolves.toEqualTypeOf<Job<AddPayload>>();
    // @ts-expect-error: wrong payload
    void jobs.createJob("add", { wrong: true });
    // @ts-expect-error: b is missing
    void jobs.createJob("add", { a: 1 });
    // @ts-expect-error: a must be a number
    void jobs.createJob("add", { a: "1", b: 2 });
    // @ts-expect-error: excess property
    void jobs.createJob("add", { a: 1, b: 2, c: 3 });
  }));

  test("an explicit payload type argument still works, and is checked against the handler", () => typeOnly(() => {
    expectTypeOf(jobs.createJob<AddPayload>("add", { a: 1, b: 2 })).resolves.toEqualTypeOf<Job<AddPayload>>();
    // @ts-expect-error: not a payload of any handler
    void jobs.createJob<{ wrong: true }>("add", { wrong: true });
  }));
});

describe("createJob with literal job types", () => {
  const jobs = new JobService({ queue, handlers: [email, report] });

  test("the job type is the union of the handlers' job types", () => typeOnly(() => {
    expectTypeOf(jobs.createJob).parameter(0).toEqualTypeOf<"email.send" | "report">();
    expectTypeOf(jobs.createJob("report", { id: 1 })).resolves.toEqualTypeOf<Job<{ id: number }>>();
    expectTypeOf(jobs.createJob("email.send", { to: "a@b.c", subject: "hi" })).resolves.toEqualTypeOf<Job<EmailPayload>>();
    // @ts-expect-error: unknown job type
    void jobs.createJob("sms.send", { to: "1" });
    // @ts-expect-error: misspelt job type
    void jobs.createJob("email.sned", { to: "a@b.c", subject: "hi" });
  }));

  test("each job type takes its own handler's payload, not another's", () => typeOnly(() => {
    // @ts-expect-error: the email payload for the report job type
    void jobs.createJob("report", { to: "a@b.c", subject: "hi" });
    // @ts-expect-error: the report payload for the email job type
    void jobs.createJob("email.send", { id: 1 });
  }));

  test("inline handlers keep their literal job types", () => typeOnly(() => {
    const inline = new JobService({
      queue,
      handlers: [{ jobType: "ping", handle: async (_job: Job<{ n: number }>) => ({ success: true }) }],
    });
    expectTypeOf(inline.createJob("ping", { n: 1 })).resolves.toEqualTypeOf<Job<{ n: number }>>();
    // @ts-expect-error: unknown job type
    void inline.createJob("pong", { n: 1 });
  }));

  test("createJobs takes a union discriminated by jobType", () => typeOnly(() => {
    void jobs.createJobs([
      { jobType: "report", payload: { id: 1 } },
      { jobType: "email.send", payload: { to: "a@b.c", subject: "hi" }, options: { priority: 1 } },
    ]);
    // @ts-expect-error: the report payload under the email job type
    void jobs.createJobs([{ jobType: "email.send", payload: { id: 1 } }]);
    // @ts-expect-error: unknown job type
    void jobs.createJobs([{ jobType: "sms.send", payload: {} }]);
    expectTypeOf(jobs.createJobs).returns.resolves.toEqualTypeOf<Job[]>();
  }));
});

describe("handlers as a record", () => {
  test("the record's keys are the job types", () => typeOnly(() => {
    const jobs = new JobService({ queue, handlers: { add, "email.send": email } });
    expectTypeOf(jobs.createJob).parameter(0).toEqualTypeOf<"add" | "email.send">();
    expectTypeOf(jobs.createJob("add", { a: 1, b: 2 })).resolves.toEqualTypeOf<Job<AddPayload>>();
    // @ts-expect-error: wrong payload for "add"
    void jobs.createJob("add", { to: "a@b.c", subject: "hi" });
    // @ts-expect-error: unknown job type
    void jobs.createJob("report", { id: 1 });
  }));
});

describe("the untyped form keeps working", () => {
  test("without handlers any job type and payload compile, the payload type inferred", () => typeOnly(() => {
    const jobs = new JobService({ queue });
    expectTypeOf(jobs.createJob("anything", { x: 1 })).resolves.toEqualTypeOf<Job<{ x: number }>>();
    expectTypeOf(jobs.createJob<EmailPayload>("email.send", { to: "a", subject: "b" })).resolves.toEqualTypeOf<Job<EmailPayload>>();
    void jobs.createJobs([{ jobType: "x", payload: 1 }]);
  }));

  test("JobService<any> (or an annotated JobService) takes any job type, also when built with handlers", () => typeOnly(() => {
    const loose: JobService<any> = new JobService({ queue, handlers: [add] });
    void loose.createJob("not-registered", { any: "thing" });
    const annotated: JobService = new JobService({ queue, handlers: [email, report] });
    void annotated.createJob("whatever", 1);
  }));

  test("handlers typed JobHandler (payload unknown) infer the payload from the argument", () => typeOnly(() => {
    const plain: JobHandler = { jobType: "x", handle: async () => ({ success: true }) };
    const jobs = new JobService({ queue, handlers: [plain] });
    expectTypeOf(jobs.createJob("x", { a: 1 })).resolves.toEqualTypeOf<Job<{ a: number }>>();
  }));
});

describe("the JobCreator port", () => {
  test("a typed JobService is still a JobCreator, so triggers take it", () => typeOnly(() => {
    const typed = new JobService({ queue, handlers: [email, report] });
    expectTypeOf(typed).toMatchTypeOf<JobCreator>();
    const creator: JobCreator = typed;
    void creator.createJob("anything", {});
    void createWebhookTrigger({ jobCreator: typed });
    expectTypeOf(new JobService({ queue })).toMatchTypeOf<JobCreator>();
  }));
});

describe("typed event listeners on WorkerManager", () => {
  const w = new WorkerManager({ queue, handlers: [add] });

  test("a lifecycle event gives a JobEvent with the job", () => typeOnly(() => {
    w.addEventListener("job:completed", (e) => {
      expectTypeOf(e).toEqualTypeOf<JobEvent>();
      expectTypeOf(e.job).toEqualTypeOf<Job>();
      expectTypeOf(e.result).toEqualTypeOf<unknown>();
      expectTypeOf(e.error).toEqualTypeOf<Error | null>();
    });
    w.addEventListener(JobEventType.DEAD_LETTER, (e) => expectTypeOf(e.job.status).toEqualTypeOf<Job["status"]>(), { once: true });
    w.addEventListener("job:failed", { handleEvent: (e) => expectTypeOf(e).toEqualTypeOf<JobEvent>() });
    for (const type of Object.values(JobEventType)) w.addEventListener(type, (e) => expectTypeOf(e).toEqualTypeOf<JobEvent>());
  }));

  test("a misspelt or unknown event name does not compile", () => typeOnly(() => {
    // @ts-expect-error: misspelt event name
    w.addEventListener("job:complete", () => {});
    // @ts-expect-error: not a job event
    w.addEventListener("message", () => {});
    // @ts-expect-error: misspelt event name
    w.removeEventListener("job:startd", null);
  }));

  test("WorkerManager is still an EventTarget", () => typeOnly(() => {
    expectTypeOf(w).toMatchTypeOf<EventTarget>();
  }));
});

describe("typed event listeners on JobService", () => {
  const s = new JobService({ queue, handlers: [add] });

  test("queue events give a QueueEvent, job:cancelled a JobEvent", () => typeOnly(() => {
    s.addEventListener("queue:paused", (e) => {
      expectTypeOf(e).toEqualTypeOf<QueueEvent>();
      expectTypeOf(e.queueName).toEqualTypeOf<string>();
    });
    s.addEventListener(QueueEventType.RESUMED, { handleEvent: (e) => expectTypeOf(e).toEqualTypeOf<QueueEvent>() });
    s.addEventListener("job:cancelled", (e) => expectTypeOf(e.job).toEqualTypeOf<Job>());
  }));

  test("an event JobService never dispatches does not compile", () => typeOnly(() => {
    // @ts-expect-error: dispatched by WorkerManager, not JobService
    s.addEventListener("job:completed", () => {});
    // @ts-expect-error: misspelt event name
    s.addEventListener("queue:pause", () => {});
    // @ts-expect-error: misspelt event name
    s.removeEventListener("queue:resume", null);
  }));

  test("JobService is still an EventTarget", () => typeOnly(() => {
    expectTypeOf(s).toMatchTypeOf<EventTarget>();
  }));
});
