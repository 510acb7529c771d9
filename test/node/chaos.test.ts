/**
 * Chaos soak: 10,000 jobs, four WorkerManagers x concurrency 4 on one MemoryJobQueue. Handlers
 * throw at random (p = 0.2) and workers "die" at random (p = 0.02) right after the handler's side
 * effect: that worker's complete/fail for the attempt is dropped, so the lease must expire and
 * another worker must pick the job up. Every random choice is a hash of (seed, job, attempt), so a
 * failure reproduces with the same CHAOS_SEED whatever the scheduling.
 */
import { expect, test } from "vitest";
import { JobService, JobStatus, WorkerManager, silentLogger, type JobHandler, type JobQueue, type LeaseRef } from "../../src/core/index.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemoryJobQueue } from "../../src/drivers/memory.ts";
import { SqliteJobQueue, type SqliteDatabase } from "../../src/drivers/sqlite/index.ts";

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
function dyingHandle(queue: JobQueue, doomed: Set<string>): JobQueue {
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
    subscribe: (listener) => queue.subscribe?.(listener) ?? (() => {}),
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

const KEYED_JOBS = 1_500;
const KEYS = 15;
/** Key k allows 1, 2 or 3 running jobs. */
const limitOf = (k: number) => 1 + (k % 3);

/**
 * Keyed chaos: the same random throws and dead workers, every job with one of 15 concurrency keys
 * (limits 1 to 3) on one store. From the handlers' own start and end records, no key ever has more
 * jobs running than its limit, while dead workers' leases expire and their jobs move on.
 */
async function keyedSoak(handles: JobQueue[], stats: () => ReturnType<JobQueue["stats"]>): Promise<void> {
  const service = new JobService({ queue: handles[0]! });
  const doomed = new Set<string>();
  const running = new Array<number>(KEYS).fill(0);
  const violations: string[] = [];
  let abandoned = 0;
  let starts = 0;
  const handler: JobHandler<{ i: number; k: number }> = {
    jobType: "keyed-chaos",
    async handle(job) {
      const { i, k } = job.payload;
      const attempt = job.attempts;
      starts++;
      if (++running[k]! > limitOf(k)) violations.push(`key ${k}: ${running[k]} running, limit ${limitOf(k)} (job ${i} attempt ${attempt})`);
      try {
        if (roll(i, attempt, 3) < P_ABANDON * 2) {
          doomed.add(`${job.id}#${attempt}`);
          abandoned++;
        }
        await new Promise((resolve) => setTimeout(resolve, roll(i, attempt, 4) < 0.5 ? 0 : 1));
        if (roll(i, attempt, 5) < P_THROW) throw new Error(`chaos: job ${i} attempt ${attempt}`);
        return { success: true };
      } finally {
        running[k]!--;
      }
    },
  };
  for (let start = 0; start < KEYED_JOBS; start += 500) {
    await service.createJobs(
      Array.from({ length: Math.min(500, KEYED_JOBS - start) }, (_, n) => {
        const i = start + n;
        const k = i % KEYS;
        return { jobType: "keyed-chaos", payload: { i, k }, options: { maxRetries: MAX_RETRIES, concurrencyKey: `key-${k}`, concurrencyLimit: limitOf(k) } };
      }),
    );
  }
  const workers = handles.map(
    (queue, w) =>
      new WorkerManager({
        queue: dyingHandle(queue, doomed),
        handlers: [handler],
        concurrency: CONCURRENCY,
        leaseMs: 300,
        backoff: { type: "exponential", baseMs: 1, maxMs: 8 },
        pollIntervalMs: 20,
        logger: silentLogger,
        workerId: `keyed-${w}`,
      }),
  );
  await Promise.all(workers.map((w) => w.start()));
  try {
    for (;;) {
      const { byStatus } = await stats();
      if (byStatus.completed + byStatus.dead_letter === KEYED_JOBS) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  } finally {
    await Promise.all(workers.map((w) => w.stop({ timeoutMs: 1_000 })));
  }
  expect(violations.slice(0, 10)).toEqual([]);
  // The chaos really happened: dead workers' leases had to expire, and jobs were retried.
  expect(abandoned).toBeGreaterThan(20);
  expect(starts).toBeGreaterThan(KEYED_JOBS * 1.15);
}

test(`keyed chaos soak on memory: ${KEYED_JOBS} jobs over ${KEYS} keys, ${WORKERS} workers x ${CONCURRENCY}, no key over its limit (seed ${SEED})`, async () => {
  const queue = new MemoryJobQueue({ retention: { maxCount: KEYED_JOBS * 2 } });
  await keyedSoak(Array.from({ length: WORKERS }, () => queue), () => queue.stats());
}, 120_000);

test(`keyed chaos soak on a SQLite file: two connections, no key over its limit (seed ${SEED})`, async () => {
  const Database = createRequire(import.meta.url)("better-sqlite3") as new (path: string) => SqliteDatabase;
  const dir = mkdtempSync(join(tmpdir(), "portico-keyed-chaos-"));
  const dbs = [0, 1].map(() => new Database(join(dir, "jobs.sqlite")));
  const queues = dbs.map((database) => new SqliteJobQueue({ database }, { retention: { maxCount: KEYED_JOBS * 2 } }));
  try {
    await keyedSoak(queues, () => queues[0]!.stats());
  } finally {
    for (const q of queues) await q.close();
    for (const db of dbs) db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
