/**
 * Throughput and scaling of JobService + WorkerManager + MemoryJobQueue against p-queue,
 * fastq and a bare setImmediate dispatch loop, all in this process.
 * Run: npm run bench   (node --expose-gc for the memory figure)
 */
import fastq from "fastq";
import PQueue from "p-queue";
import { JobService, WorkerManager, silentLogger, JobStatus, type Job } from "../src/core/index.ts";
import { MemoryJobQueue } from "../src/drivers/memory.ts";

const CONCURRENCY = 16;
const sizes = (process.env.BENCH_SIZES ?? "100000,1000000").split(",").map(Number);
const noop = async () => {};

async function time(fn: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/** Full SDK path: validate + enqueue in batches, then claim, run, complete with leases and retries on. */
async function portico(n: number): Promise<number> {
  const queue = new MemoryJobQueue({ retention: { maxCount: 1000 } });
  const handler = { jobType: "noop", handle: async () => ({ success: true }) };
  const service = new JobService({ queue, handlers: [handler] });
  const worker = new WorkerManager({ queue, handlers: [handler], concurrency: CONCURRENCY, logger: silentLogger });
  return time(async () => {
    let done = 0;
    const finished = new Promise<void>((resolve) =>
      worker.addEventListener("job:completed", () => ++done === n && resolve()),
    );
    await worker.start();
    for (let i = 0; i < n; i += 1000) {
      const batch = [];
      for (let j = i; j < Math.min(n, i + 1000); j++) batch.push({ jobType: "noop", payload: { i: j }, options: { priority: j % 3 } });
      await service.createJobs(batch);
    }
    await finished;
    await worker.stop();
  });
}

async function pQueue(n: number): Promise<number> {
  const q = new PQueue({ concurrency: CONCURRENCY });
  return time(async () => {
    for (let i = 0; i < n; i++) q.add(noop, { priority: i % 3 });
    await q.onIdle();
  });
}

async function fastQueue(n: number): Promise<number> {
  const q = fastq.promise(async (_: { i: number }) => {}, CONCURRENCY);
  return time(async () => {
    const all: Promise<void>[] = [];
    for (let i = 0; i < n; i++) all.push(q.push({ i }));
    await Promise.all(all);
  });
}

async function immediateLoop(n: number): Promise<number> {
  return time(
    () =>
      new Promise<void>((resolve) => {
        let i = 0;
        const step = () => {
          const end = Math.min(n, i + 1000);
          for (; i < end; i++) void noop();
          if (i < n) setImmediate(step);
          else resolve();
        };
        setImmediate(step);
      }),
  );
}

function job(i: number, now: number): Job {
  return {
    id: `job-${i}`, queueName: "default", jobType: "noop", payload: { i }, priority: i % 10, maxRetries: 3,
    retryCount: 0, scheduledAt: null, startedAt: null, completedAt: null, failedAt: null, status: JobStatus.PENDING,
    errorMessage: null, createdBy: null, createdAt: new Date(now), metadata: {}, idempotencyKey: null, result: null, progress: null,
    runAt: new Date(now), attempts: 0, timeoutMs: null,
  };
}

/** Per-operation cost of enqueue + claim + complete with `waiting` jobs already in the queue. */
async function opCost(waiting: number): Promise<{ nsPerJob: number; bytesPerJob: number | null }> {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const before = process.memoryUsage().heapUsed;
  const queue = new MemoryJobQueue();
  const now = Date.now();
  for (let i = 0; i < waiting; i += 10_000) {
    const batch: Job[] = [];
    for (let j = i; j < Math.min(waiting, i + 10_000); j++) batch.push(job(j, now));
    await queue.enqueue(batch);
  }
  gc?.();
  const bytesPerJob = gc ? (process.memoryUsage().heapUsed - before) / waiting : null;
  const ops = 20_000;
  const ms = await time(async () => {
    for (let i = 0; i < ops; i++) {
      await queue.enqueue([job(waiting + i, now)]);
      const [c] = await queue.claim({ queues: ["default"], limit: 1, leaseMs: 30_000, workerId: "w", now });
      await queue.complete(c!, null, now);
    }
  });
  return { nsPerJob: (ms * 1e6) / ops, bytesPerJob };
}

const fmt = (x: number) => Math.round(x).toLocaleString("en-US");
console.log(`## Throughput (no-op jobs, concurrency ${CONCURRENCY}, node ${process.version})\n`);
console.log("| jobs | portico-jobs (jobs/s) | p-queue (jobs/s) | fastq (jobs/s) | setImmediate loop (jobs/s) | portico / p-queue |");
console.log("|---:|---:|---:|---:|---:|---:|");
for (const n of sizes) {
  // Alternate and keep the best of two runs each, to damp noise from the shared machine.
  const best = async (f: (n: number) => Promise<number>) => Math.min(await f(n), await f(n));
  const p = await best(portico);
  const q = await best(pQueue);
  const f = await best(fastQueue);
  const l = await best(immediateLoop);
  const rate = (ms: number) => (n / ms) * 1000;
  console.log(`| ${fmt(n)} | ${fmt(rate(p))} | ${fmt(rate(q))} | ${fmt(rate(f))} | ${fmt(rate(l))} | ${(q / p).toFixed(2)}x |`);
}

console.log("\n## Enqueue + claim + complete with jobs waiting\n");
console.log("| jobs waiting | ns per job | vs 1k waiting | heap per waiting job |");
console.log("|---:|---:|---:|---:|");
let base = 0;
for (const waiting of [1_000, 10_000, 100_000, 1_000_000]) {
  const { nsPerJob, bytesPerJob } = await opCost(waiting);
  if (!base) base = nsPerJob;
  console.log(`| ${fmt(waiting)} | ${fmt(nsPerJob)} | ${(nsPerJob / base).toFixed(2)}x | ${bytesPerJob === null ? "run with --expose-gc" : `${fmt(bytesPerJob)} B`} |`);
}
