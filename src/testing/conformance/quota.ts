/**
 * The quota section of the conformance suite: `countWaiting` counts exactly the waiting jobs
 * (PENDING, SCHEDULED, RETRYING; the memory store's meaning) through every transition, and
 * JobService's `maxWaitingJobs` refuses a creation past it with StorageFullError, writing nothing.
 * Registered unless the driver passes `countWaiting: false`.
 * @module
 */
import { JobService, StorageFullError, type ClaimedJob, type JobQueue } from "../../core/index.ts";
import { assert, assertEqual, assertPresent, show } from "./assert.ts";
import { BASE_TIME, makeJob, makeScheduledJob } from "./fixtures.ts";
import type { ConformanceSuite } from "./options.ts";

const T = BASE_TIME;
const LEASE = 10_000;

const req = (queues: string[], limit: number, now: number) => ({ queues, limit, leaseMs: LEASE, workerId: "quota", now });

/** The store's countWaiting, present. */
function counter(q: JobQueue): () => Promise<number> {
  assert(typeof q.countWaiting === "function", "the store implements countWaiting()");
  return () => q.countWaiting!();
}

/** Waiting jobs as stats() reports them (the figure countWaiting must agree with). */
async function waitingInStats(q: JobQueue): Promise<number> {
  const { byStatus } = await q.stats();
  return byStatus.pending + byStatus.scheduled + byStatus.retrying;
}

async function claimOne(q: JobQueue, queue: string, now: number): Promise<ClaimedJob> {
  const [c] = await q.claim(req([queue], 1, now));
  assertPresent(c, `a claim in ${queue}`);
  return c;
}

/** Registers the quota tests. */
export function quotaSection(suite: ConformanceSuite): void {
  const { it, options, dispose } = suite;
  if (options.countWaiting === false) return;

  it("countWaiting counts pending, scheduled and retrying jobs through every transition, as stats does", async (q) => {
    const count = counter(q);
    /** countWaiting is `expected`, and so is the figure stats() gives. */
    const check = async (expected: number, after: string) => {
      assertEqual(await count(), expected, `countWaiting after ${after}`);
      assertEqual(await waitingInStats(q), expected, `pending + scheduled + retrying in stats after ${after}`);
    };
    await check(0, "nothing");
    const a = makeJob({ priority: 9 });
    const b = makeScheduledJob(60_000);
    const c = makeJob({ priority: 5 });
    const d = makeJob({ priority: 1, idempotencyKey: "k" });
    await q.enqueue([a, b, c]);
    await q.enqueue([d]);
    await check(4, "enqueueing two pending jobs, a scheduled one and a keyed one");
    const [dup] = await q.enqueue([makeJob({ idempotencyKey: "k" })]);
    assertEqual(dup?.created, false, "a repeated key creates nothing");
    await q.enqueue([makeJob({ queueName: "other" })]);
    await check(5, "a repeated key (not counted) and a job in another queue (counted: every queue)");

    const la = await claimOne(q, "default", T);
    assertEqual(la.jobId, a.id, "the first claim takes a");
    await check(4, "claiming a (RUNNING is not waiting)");
    await q.complete(la, { ok: true }, T + 1);
    await check(4, "completing a");

    const lc = await claimOne(q, "default", T + 2);
    assertEqual(lc.jobId, c.id, "the second claim takes c");
    await check(3, "claiming c");
    assertEqual(await q.fail(lc, "boom", { status: "retrying", retryAt: T + 5_000 }, T + 3), true, "fail c for a retry");
    await check(4, "c failing with a retry (RETRYING waits)");

    const ld = await claimOne(q, "default", T + 4);
    assertEqual(ld.jobId, d.id, "the third claim takes d");
    await q.fail(ld, "fatal", { status: "dead_letter" }, T + 5);
    await check(3, "d going to DEAD_LETTER");
    assertPresent(await q.retry(d.id, T + 6), "retry d");
    await check(4, "retrying d (back to PENDING)");

    assertEqual(await q.cancel(b.id, T + 7), true, "cancel the scheduled b");
    await check(3, "cancelling b");
    const ld2 = await claimOne(q, "default", T + 8);
    assertEqual(ld2.jobId, d.id, "d is claimed again");
    assertEqual(await q.release(ld2, T + 9), true, "release d");
    await check(3, "claiming and releasing d (PENDING again)");

    // A lease that runs out leaves its job RUNNING until someone claims it again.
    const lc2 = await claimOne(q, "default", T + 5_000);
    assertEqual(lc2.jobId, c.id, "the due retry of c is claimed");
    await check(2, "claiming the retry of c (d and the other queue's job wait)");
    const again = await q.claim(req(["default"], 10, T + 5_000 + LEASE + 1));
    assertEqual(again.length, 2, `c (lease expired) and d are claimed: ${show(again.map((x) => x.jobId))}`);
    await check(1, "reclaiming c's expired lease (RUNNING before and after) and claiming d");
    for (const x of again) await q.complete(x, null, T + 5_000 + LEASE + 2);
    await check(1, "completing them: only the other queue's job waits");
  });

  it("countWaiting: a delayed job counts at once, and jobs parked behind a concurrency key count too", async (q) => {
    const count = counter(q);
    await q.enqueue([makeScheduledJob(3_600_000), makeJob({ status: "retrying", retryCount: 1, runAt: new Date(T + 1_000) })]);
    assertEqual(await count(), 2, "a scheduled job and a retrying one, neither due");
    const keyed = [1, 2, 3].map(() => makeJob({ queueName: "keyed", concurrencyKey: "acct", concurrencyLimit: 1 }));
    await q.enqueue(keyed);
    const claimed = await q.claim(req(["keyed"], 10, T));
    assertEqual(claimed.length, 1, "one job of the key runs");
    assertEqual(await count(), 4, "the two jobs held back by the key still wait");
    assertEqual(await waitingInStats(q), 4, "stats agree");
    await q.complete(claimed[0]!, null, T + 1);
    const next = await q.claim(req(["keyed"], 10, T + 2));
    assertEqual(next.length, 1, "the next job of the key");
    assertEqual(await count(), 3, "one left behind the key");
  });

  if (options.operations) {
    it("countWaiting: bulk cancel and bulk retry move the count; a paused queue's jobs still wait", async (q) => {
      const count = counter(q);
      const jobs = [0, 1, 2, 3].map(() => makeJob({ queueName: "bulk" }));
      await q.enqueue(jobs);
      await q.setPaused!("bulk", true, T);
      assertEqual(await count(), 4, "jobs of a paused queue wait");
      await q.setPaused!("bulk", false, T);
      const running = await claimOne(q, "bulk", T);
      assertEqual(await count(), 3, "one claimed");
      assertEqual(await q.bulk!("cancel", { queueName: "bulk" }, T + 1), 4, "bulk cancel: three waiting and one running");
      assertEqual(await count(), 0, "after the bulk cancel");
      assertEqual(await q.complete(running, null, T + 2), false, "the cancelled job's holder is refused");
      assertEqual(await q.bulk!("purge", { status: "cancelled" }, T + 3), 4, "purge the cancelled jobs");
      await q.enqueue([makeJob({ queueName: "bulk" }), makeJob({ queueName: "bulk" })]);
      for (let i = 0; i < 2; i++) await q.fail(await claimOne(q, "bulk", T + 4), "fatal", { status: "failed" }, T + 5);
      assertEqual(await count(), 0, "both FAILED");
      assertEqual(await q.bulk!("retry", { status: "failed" }, T + 6), 2, "bulk retry");
      assertEqual(await count(), 2, "both PENDING again");
      assertEqual(await waitingInStats(q), 2, "stats agree");
    });
  }

  if (options.openSecondHandle) {
    const open = options.openSecondHandle;
    suite.test("countWaiting through one handle counts the jobs written through another", async () => {
      const a = await options.createQueue();
      const b = await open(a);
      try {
        await a.enqueue([makeJob(), makeJob(), makeScheduledJob(1_000)]);
        assertEqual(await counter(b)(), 3, "the other handle sees three waiting jobs");
        await claimOne(b, "default", T);
        assertEqual(await counter(a)(), 2, "a claim through the other handle is seen");
      } finally {
        await dispose(b);
        await dispose(a);
      }
    });
  }

  it("maxWaitingJobs: a creation past it fails with StorageFullError (storage_full) and writes nothing", async (q) => {
    counter(q);
    // The suite's clock: the jobs are due in 2100, so no runner that shares the store (a Durable Object's alarm) takes them.
    const service = new JobService({ queue: q, maxWaitingJobs: 3, clock: () => T });
    await service.createJob("quota.job", { n: 1 });
    const delayed = await service.createJob("quota.job", { n: 2 }, { delayMs: 60_000 });
    assertEqual(delayed.status, "scheduled", "a delayed job");
    const error = await service
      .createJobs([
        { jobType: "quota.job", payload: { n: 3 } },
        { jobType: "quota.job", payload: { n: 4 }, options: { queueName: "elsewhere" } },
      ])
      .then(() => null, (e: unknown) => e);
    assert(error instanceof StorageFullError, `createJobs past the limit rejects with StorageFullError, got ${show(String(error))}`);
    assertEqual(error.code, "storage_full", "code");
    assertEqual(error.limit, 3, "limit");
    assertEqual(error.waiting, 2, "waiting");
    assertEqual(error.adding, 2, "adding");
    const stats = await q.stats();
    assertEqual(stats.total, 2, "nothing of the refused batch was written");
    assertEqual((await q.list({ queueName: "elsewhere" })).length, 0, "not even the part for another queue");
    assertEqual(await q.countWaiting!(), 2, "countWaiting unchanged");
    await service.createJob("quota.job", { n: 3 }, { idempotencyKey: "third" });
    const full = await service.createJob("quota.job", { n: 4 }).then(() => null, (e: unknown) => e);
    assert(full instanceof StorageFullError, "one job past the limit is refused");
    const dup = await service.createJob("quota.job", { n: 5 }, { idempotencyKey: "third" }).then(() => null, (e: unknown) => e);
    assert(dup instanceof StorageFullError, "a full store refuses a repeated key as well (it is checked before the store is asked)");
    assertEqual((await q.stats()).total, 3, "three jobs stored, no more");
    assertEqual(await q.countWaiting!(), 3, "countWaiting at the limit");
  });
}
