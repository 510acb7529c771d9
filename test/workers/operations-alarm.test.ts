/**
 * The operations on a Durable Object whose alarm runs the jobs (workerd): the handler's progress
 * is stored and evented (job:progress), cancelling the running job aborts its handler at once
 * with JobCancelledError and ends the run as job:cancelled, waitForJob (polling: the object has
 * no push to the caller) resolves with the cancelled job, and a paused queue gives the alarm no
 * job until it is resumed.
 */
import { env, runDurableObjectAlarm } from "cloudflare:test";
import { afterEach, expect, test } from "vitest";
import { JobCancelledError, JobEventType, JobService, type Job, type JobContext, type JobEvent } from "../../src/core/index.ts";
import { DurableObjectJobQueue } from "../../src/drivers/durable-object/index.ts";
import { createWorker } from "../../runtimes/cloudflare/index.ts";
import { getAlarmRuntime, setAlarmRuntime } from "../../runtimes/cloudflare/registry.ts";
import { eventually, jobReaches } from "./helpers.ts";

const previous = getAlarmRuntime();
afterEach(() => {
  if (previous) setAlarmRuntime(previous);
});

const silent = { debug() {}, info() {}, warn() {}, error() {} };

test("a job run in the alarm reports progress (job:progress) and, cancelled while running, is aborted at once (job:cancelled)", async () => {
  const seen: { type: string; job: Job }[] = [];
  const target = new EventTarget();
  for (const type of Object.values(JobEventType)) target.addEventListener(type, (e) => seen.push({ type, job: (e as JobEvent).job }));
  let abortReason: unknown = null;
  const handlers = [
    {
      jobType: "long",
      handle: async (_job: Job, context: JobContext) => {
        await context.progress({ step: "started", attempt: context.attempt });
        await new Promise<void>((resolve) => context.signal.addEventListener("abort", () => resolve(), { once: true }));
        abortReason = context.signal.reason;
        return { success: true };
      },
    },
  ];
  createWorker({ handlers, logger: silent, events: target });
  const queue = new DurableObjectJobQueue({ namespace: env.JOB_QUEUE, name: `ops-${crypto.randomUUID()}` });
  const service = new JobService({ queue });
  const job = await service.createJob("long", {});
  const alarm = runDurableObjectAlarm(queue.stub(queue.shardFor("default")) as never);
  const running = await eventually("the progress report", async () => {
    const j = await queue.get(job.id);
    return j?.progress !== null && j?.status === "running" ? j : null;
  });
  expect(running.progress).toEqual({ step: "started", attempt: 1 });
  expect(seen.some((e) => e.type === JobEventType.PROGRESS && e.job.id === job.id)).toBe(true);
  const waited = service.waitForJob(job.id, { timeoutMs: 20_000 });
  expect(await service.cancelJob(job.id)).toBe(true);
  await alarm;
  expect((await waited).status).toBe("cancelled");
  expect(abortReason).toBeInstanceOf(JobCancelledError);
  expect(seen.filter((e) => e.type === JobEventType.CANCELLED).map((e) => e.job.id)).toContain(job.id);
  expect(seen.some((e) => e.type === JobEventType.COMPLETED && e.job.id === job.id)).toBe(false);
  const stored = await queue.get(job.id);
  expect(stored?.status).toBe("cancelled");
  expect(stored?.result ?? null).toBe(null);
});

test("a paused queue's jobs wait in the object: the alarm runs none until the queue is resumed", async () => {
  let runs = 0;
  createWorker({ handlers: [{ jobType: "ok", handle: async () => (runs++, { success: true }) }], logger: silent });
  const queue = new DurableObjectJobQueue({ namespace: env.JOB_QUEUE, name: `ops-${crypto.randomUUID()}` });
  const service = new JobService({ queue });
  await service.pauseQueue("default");
  const job = await service.createJob("ok", {});
  const stub = queue.stub(queue.shardFor("default"));
  await runDurableObjectAlarm(stub as never);
  expect(runs).toBe(0);
  expect((await queue.get(job.id))?.status).toBe("pending");
  expect((await service.stats()).paused).toEqual(["default"]);
  await service.resumeQueue("default");
  await runDurableObjectAlarm(stub as never);
  await jobReaches(queue, job.id, "completed");
  expect(runs).toBe(1);
});
