/**
 * Chaos soak: 10,000 jobs, four WorkerManagers x concurrency 4 on one MemoryJobQueue. Handlers
 * throw at random (p = 0.2) and workers "die" at random (p = 0.02) right after the handler's side
 * effect: that worker's complete/fail for the attempt is dropped, so the lease must expire and
 * another worker must pick the job up. Every random choice is a hash of (seed, job, attempt), so a
 * failure reproduces with the same CHAOS_SEED whatever the scheduling.
 */
import { expect, test } from "vitest";
import { JobService, JobStatus, WorkerManager, silentLogger, type JobHandler, type JobQueue, type LeaseRef } from "../../src/core/index.ts";
import { MemoryJobQueue } from "../../src/drivers/memory.ts";

const SEED = Number(process.env.CHAOS_SEED ?? 20261122);
const JOBS = 10_000;
const WORKERS = 4;
const CONCURRENCY = 4;
const MAX_RETRIES = 5;
const P_THROW = 0.2;
const P_ABANDON = 0.02;

/** A uniform number in [0, 1) from the seed and a few integers (splitmix32-style mixing). */
function roll(...parts: number[]): number {
  let h = SEED >>> 0;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x9e3779b1);
    h ^= h >>> 15;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return (h >>> 0) / 4294967296;
}

interface Ledger {
  /** Handler runs per job index. */
  runs: number[];
  /** Successful side effects per job index. */
  successes: number[];
  /** Jobs with at least one abandoned attempt. */
  abandoned: Set<number>;
}

/**
 * One worker's view of the store. Claims are remembered by token; the results of attempts the
 * handler marked as abandoned are dropped (the worker "died" before writing them).
 */
function dyingHandle(queue: MemoryJobQueue, doomed: Set<string>): JobQueue {
  const attemptOf = new Map<string, string>();
  const dropped = (lease: LeaseRef): boolean => {
    const key = attemptOf.get(lease.token);
    attemptOf.delete(lease.token);
    return key !== undefined && doomed.has(key);
  };
  return {
    enqueue: (jobs) => queue.enqueue(jobs),
    claim: async (request) => {
      const claimed = await queue.claim(request);
      for (const c of claimed) attemptOf.set(c.token, `${c.jobId}#${c.job.attempts}`);
      return claimed;
    },
    // A dead worker renews nothing either; after the drop its job is no longer in the worker's set.
    extendLease: (lease, ms, now) => queue.extendLease(lease, ms, now),
    complete: async (lease, result, now) => (dropped(lease) ? true : queue.complete(lease, result, now)),
    fail: async (lease, message, outcome, now) => (dropped(lease) ? true : queue.fail(lease, message, outcome, now)),
    release: (lease, now) => queue.release(lease, now),
    get: (id) => queue.get(id),
    cancel: (id, now) => queue.cancel(id, now),
    retry: (id, now) => queue.retry(id, now),
    list: (filter) => queue.list(filter),
    stats: () => queue.stats(),
    nextWakeAt: (queues, now) => queue.nextWakeAt(queues, now),
    subscribe: (listener) => queue.subscribe(listener),
    close: async () => {},
  };
}

test(`chaos soak: ${JOBS} jobs, ${WORKERS} workers x ${CONCURRENCY}, random throws and dead workers (seed ${SEED})`, async () => {
  const queue = new MemoryJobQueue({ retention: { maxCount: JOBS * 2 } });
  const service = new JobService({ queue });
  const ledger: Ledger = { runs: new Array(JOBS).fill(0), successes: new Array(JOBS).fill(0), abandoned: new Set() };
  const doomed = new Set<string>();

  const handler: JobHandler<{ i: number }> = {
    jobType: "chaos",
    async handle(job) {
      const { i } = job.payload;
      const attempt = job.attempts;
      ledger.runs[i]!++;
      if (roll(i, attempt, 1) < P_ABANDON) {
        doomed.add(`${job.id}#${attempt}`);
        ledger.abandoned.add(i);
      }
      // Yield once so that jobs interleave across workers.
      await Promise.resolve();
      if (roll(i, attempt, 2) < P_THROW) throw new Error(`chaos: job ${i} attempt ${attempt}`);
      ledger.successes[i]!++;
      return { success: true, resultData: { i, attempt } };
    },
  };

  const ids: string[] = [];
  for (let start = 0; start < JOBS; start += 1_000) {
    const batch = Array.from({ length: Math.min(1_000, JOBS - start) }, (_, k) => ({
      jobType: "chaos",
      payload: { i: start + k },
      options: { maxRetries: MAX_RETRIES },
    }));
    ids.push(...(await service.createJobs(batch)).map((j) => j.id));
  }

  const workers = Array.from(
    { length: WORKERS },
    (_, w) =>
      new WorkerManager({
        queue: dyingHandle(queue, doomed),
        handlers: [handler],
        concurrency: CONCURRENCY,
        leaseMs: 1_000,
        backoff: { type: "exponential", baseMs: 1, maxMs: 8 },
        pollIntervalMs: 50,
        logger: silentLogger,
        workerId: `chaos-${w}`,
      }),
  );
  await Promise.all(workers.map((w) => w.start()));
  try {
    for (;;) {
      const { byStatus } = await queue.stats();
      if (byStatus.completed + byStatus.dead_letter === JOBS) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  } finally {
    await Promise.all(workers.map((w) => w.stop({ timeoutMs: 1_000 })));
  }

  const stats = await queue.stats();
  expect(stats.total).toBe(JOBS);
  for (const s of [JobStatus.PENDING, JobStatus.SCHEDULED, JobStatus.RUNNING, JobStatus.RETRYING, JobStatus.FAILED, JobStatus.CANCELLED]) {
    expect(stats.byStatus[s], `jobs left ${s}`).toBe(0);
  }

  const problems: string[] = [];
  let deadLettered = 0;
  for (let i = 0; i < JOBS; i++) {
    const job = await queue.get(ids[i]!);
    if (!job) {
      problems.push(`job ${i} was lost`);
      continue;
    }
    const abandoned = ledger.abandoned.has(i);
    if (job.status === JobStatus.COMPLETED) {
      if (ledger.successes[i] === 0) problems.push(`job ${i} is COMPLETED without a successful run`);
      if (ledger.successes[i]! > 1 && !abandoned) problems.push(`job ${i} succeeded ${ledger.successes[i]} times without an abandoned lease`);
      if ((job.result as { i: number }).i !== i) problems.push(`job ${i} stored the result of another job`);
    } else if (job.status === JobStatus.DEAD_LETTER) {
      deadLettered++;
      if (job.retryCount !== MAX_RETRIES) problems.push(`job ${i} dead-lettered with retryCount ${job.retryCount}`);
      if (ledger.successes[i]! > 0 && !abandoned) problems.push(`job ${i} dead-lettered after a recorded success`);
    } else {
      problems.push(`job ${i} ended ${job.status}`);
    }
    if (job.retryCount > MAX_RETRIES) problems.push(`job ${i} retried ${job.retryCount} times`);
    // Every claim ran the handler once, and nothing ran the handler without a claim.
    if (job.attempts !== ledger.runs[i]) problems.push(`job ${i}: ${job.attempts} attempts but ${ledger.runs[i]} handler runs`);
    if (!abandoned && job.attempts !== job.retryCount + 1) problems.push(`job ${i}: attempts ${job.attempts} != retryCount + 1 (${job.retryCount + 1}) without an abandoned lease`);
  }
  expect(problems.slice(0, 20)).toEqual([]);
  expect(stats.byStatus.completed + deadLettered).toBe(JOBS);
  // The chaos really happened: many retries and some abandoned leases.
  expect(ledger.abandoned.size).toBeGreaterThan(50);
  expect(ledger.runs.reduce((a, b) => a + b, 0)).toBeGreaterThan(JOBS * 1.15);
}, 60_000);
