/**
 * The object's alarm: it runs due jobs with the handlers the Worker registered, re-arms at the
 * next due time or lease expiry, and brings back work whose worker or object went away.
 */
import { abortAllDurableObjects, env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, test } from "vitest";
import { silentLogger } from "../../src/core/index.ts";
import { AlarmRunner } from "../../src/drivers/durable-object/alarm-runner.ts";
import { DurableObjectJobQueue, SqlJobStore } from "../../src/drivers/durable-object/index.ts";
import { BASE_TIME, makeJob, makeScheduledJob } from "../../src/testing/conformance/fixtures.ts";
import { eventually, jobReaches } from "./helpers.ts";

const alarmOf = (queue: DurableObjectJobQueue, queueName: string) =>
  runInDurableObject(queue.stub(queue.shardFor(queueName)) as never, (_o: unknown, state: DurableObjectState) => state.storage.getAlarm());

const isolated = () => new DurableObjectJobQueue({ namespace: env.JOB_QUEUE, name: `alarm-${crypto.randomUUID()}` });

describe("alarm", () => {
  test("enqueue arms the alarm at the job's due time, and a later job does not push it back", async () => {
    const q = isolated();
    const soon = makeScheduledJob(5_000);
    const later = makeScheduledJob(60_000);
    await q.enqueue([later]);
    expect(await alarmOf(q, "default")).toBe(BASE_TIME + 60_000);
    await q.enqueue([soon]);
    expect(await alarmOf(q, "default")).toBe(BASE_TIME + 5_000);
    await q.enqueue([makeScheduledJob(30_000)]);
    expect(await alarmOf(q, "default")).toBe(BASE_TIME + 5_000);
  });

  test("a claim arms the alarm at the lease expiry when nothing earlier is pending", async () => {
    const q = isolated();
    await q.enqueue([makeJob()]);
    const [c] = await q.claim({ queues: ["default"], limit: 1, leaseMs: 7_000, workerId: "w", now: BASE_TIME - 1_000_000 + 1_000_000 });
    expect(c).toBeDefined();
    // The alarm was at the job's due time (BASE_TIME), which is earlier than the lease expiry.
    expect(await alarmOf(q, "default")).toBe(BASE_TIME);
    const stub = q.stub("default");
    // Firing that alarm early (nothing is really due yet in wall time) re-arms at the lease expiry.
    expect(await runDurableObjectAlarm(stub as never)).toBe(true);
    expect(await alarmOf(q, "default")).toBe(BASE_TIME + 7_000);
  });

  test("runs a due job with the Worker's echo handler and re-arms for the next scheduled job", async () => {
    const q = isolated();
    const now = Date.now();
    const due = makeJob({ jobType: "echo", payload: { hello: "wörld" }, createdAt: new Date(now - 10), runAt: new Date(now - 10) });
    const far = makeJob({ jobType: "echo", status: "scheduled", scheduledAt: new Date(now + 3_600_000), createdAt: new Date(now), runAt: new Date(now + 3_600_000) });
    await q.enqueue([due, far]);
    // The alarm may already have fired on its own; either way the due job ends completed.
    await runDurableObjectAlarm(q.stub("default") as never);
    const done = await jobReaches(q, due.id, "completed");
    expect(done.result).toEqual({ hello: "wörld" });
    expect(done.attempts).toBe(1);
    expect((await q.get(far.id))?.status).toBe("scheduled");
    expect(await eventually("alarm re-armed for the scheduled job", async () => (await alarmOf(q, "default")) === now + 3_600_000)).toBe(true);
  });

  test("a delayed job runs on its own when due, without any cron or request", async () => {
    const q = isolated();
    const at = Date.now() + 300;
    const job = makeJob({ jobType: "echo", payload: "later", status: "scheduled", scheduledAt: new Date(at), createdAt: new Date(at - 300), runAt: new Date(at) });
    await q.enqueue([job]);
    expect(await alarmOf(q, "default")).toBe(at);
    const done = await jobReaches(q, job.id, "completed");
    expect(done.result).toBe("later");
    expect(done.startedAt!.getTime()).toBeGreaterThanOrEqual(at);
  });

  test("a job type without a handler fails at once instead of waking the object forever", async () => {
    const q = isolated();
    const now = Date.now();
    const job = makeJob({ jobType: "no.such.handler", createdAt: new Date(now), runAt: new Date(now) });
    await q.enqueue([job]);
    await runDurableObjectAlarm(q.stub("default") as never);
    const failed = await jobReaches(q, job.id, "failed");
    expect(failed.errorMessage).toContain("no.such.handler");
    expect(await q.nextWakeAt(["default"], Date.now())).toBeNull();
  });

  test("a job that lost its lease more than maxStalls (3) times is dead-lettered unrun; at 3 it still runs", async () => {
    const q = isolated();
    const now = Date.now();
    // attempts - retryCount - 1 claims ended with no outcome: 4 stalls, and 3.
    const poisoned = makeJob({ jobType: "echo", payload: "boom", attempts: 4, createdAt: new Date(now), runAt: new Date(now) });
    const survivor = makeJob({ jobType: "echo", payload: "fine", attempts: 3, createdAt: new Date(now), runAt: new Date(now) });
    await q.enqueue([poisoned, survivor]);
    await runDurableObjectAlarm(q.stub("default") as never);
    const dead = await jobReaches(q, poisoned.id, "dead_letter");
    expect(dead.errorMessage).toMatch(/lost its lease 4 times/);
    expect(dead.result).toBeNull();
    const done = await jobReaches(q, survivor.id, "completed");
    expect(done.result).toBe("fine");
  });
});

describe("eviction", () => {
  test("aborting every object between claim and complete loses nothing; the lease brings the job back", async () => {
    const q = isolated();
    const job = makeJob({ payload: { keep: true } });
    await q.enqueue([job]);
    const [first] = await q.claim({ queues: ["default"], limit: 1, leaseMs: 1_000, workerId: "w1", now: BASE_TIME });
    expect(first?.jobId).toBe(job.id);

    await abortAllDurableObjects();

    const stored = await q.get(job.id);
    expect(stored?.status).toBe("running");
    expect(stored?.payload).toEqual({ keep: true });
    expect(await alarmOf(q, "default")).toBe(BASE_TIME);
    // Before the lease runs out nobody else gets it; afterwards a new worker does.
    expect(await q.claim({ queues: ["default"], limit: 1, leaseMs: 1_000, workerId: "w2", now: BASE_TIME + 999 })).toEqual([]);
    const [second] = await q.claim({ queues: ["default"], limit: 1, leaseMs: 1_000, workerId: "w2", now: BASE_TIME + 1_000 });
    expect(second?.jobId).toBe(job.id);
    expect(second?.job.attempts).toBe(2);
    expect(await q.complete(first!, "stale", BASE_TIME + 1_001)).toBe(false);
    expect(await q.complete(second!, "fresh", BASE_TIME + 1_001)).toBe(true);
    expect((await q.get(job.id))?.result).toBe("fresh");
  });

  test("a job enqueued right before the object is aborted still runs (the alarm survives)", async () => {
    const q = isolated();
    const now = Date.now();
    const job = makeJob({ jobType: "echo", payload: 42, createdAt: new Date(now), runAt: new Date(now) });
    await q.enqueue([job]);
    await abortAllDurableObjects();
    expect((await jobReaches(q, job.id, "completed")).result).toBe(42);
  });
});

describe("two stubs", () => {
  test("two stubs of one object claiming concurrently never share a job", async () => {
    const name = `stubs-${crypto.randomUUID()}`;
    const a = new DurableObjectJobQueue({ namespace: env.JOB_QUEUE, name });
    const b = new DurableObjectJobQueue({ namespace: env.JOB_QUEUE, name });
    const jobs = Array.from({ length: 60 }, (_, i) => makeJob({ priority: i % 3 }));
    await a.enqueue(jobs);
    const claims = await Promise.all(
      Array.from({ length: 80 }, (_, i) => (i % 2 ? a : b).claim({ queues: ["default"], limit: 1, leaseMs: 10_000, workerId: `w${i}`, now: BASE_TIME })),
    );
    const ids = claims.flat().map((c) => c.jobId);
    expect(ids.length).toBe(60);
    expect(new Set(ids).size).toBe(60);
  });
});

describe("alarm runner", () => {
  const freshObject = () => env.JOB_QUEUE.get(env.JOB_QUEUE.idFromName(`alarm-runner-${crypto.randomUUID()}`));

  test("jobs the alarm runs are pruned by createWorker's queue.retention, as RPC completions are", async () => {
    await runInDurableObject(freshObject(), async (_o: unknown, state: DurableObjectState) => {
      const store = new SqlJobStore(state.storage);
      const now = Date.now();
      store.enqueue(Array.from({ length: 30 }, () => makeJob({ jobType: "ok", createdAt: new Date(now), runAt: new Date(now) })));
      const batch = store.claim({ queues: ["default"], limit: 30, leaseMs: 30_000, workerId: "alarm", now });
      expect(batch).toHaveLength(30);
      const handlers = [{ jobType: "ok", handle: async () => ({ success: true }) }];
      await new AlarmRunner(store, { handlers, leaseMs: 30_000, timeoutMs: 5_000, batchSize: 30, backoff: {}, maxStalls: 3, retention: { maxCount: 5 } , logger: silentLogger }).run(batch);
      const completed = store.list({ status: "completed", limit: 100 });
      expect(completed.length).toBeGreaterThan(0);
      expect(completed.length).toBeLessThanOrEqual(5);
    });
  });

  test("the alarm runner gives a job whose timeout outlasts the lease a lease that outlasts the timeout", async () => {
    await runInDurableObject(freshObject(), async (_o: unknown, state: DurableObjectState) => {
      const store = new SqlJobStore(state.storage);
      const now = Date.now();
      const long = makeJob({ jobType: "slow", timeoutMs: 60_000, createdAt: new Date(now), runAt: new Date(now) });
      store.enqueue([long]);
      const batch = store.claim({ queues: ["default"], limit: 1, leaseMs: 1_000, workerId: "alarm", now });
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const handlers = [{ jobType: "slow", handle: async () => (await gate, { success: true }) }];
      const run = new AlarmRunner(store, { handlers, leaseMs: 1_000, timeoutMs: 500, batchSize: 1, backoff: {}, maxStalls: 3 , logger: silentLogger }).run(batch);
      await new Promise((resolve) => setTimeout(resolve, 10));
      // Running: the lease now ends after the job's own timeout, not 1 s after the claim.
      expect(store.nextWakeAt(["default"])).toBeGreaterThanOrEqual(now + 60_000);
      expect(store.claim({ queues: ["default"], limit: 1, leaseMs: 1_000, workerId: "other", now: now + 30_000 })).toEqual([]);
      release();
      await run;
      expect(store.get(long.id)?.status).toBe("completed");
    });
  });
});
