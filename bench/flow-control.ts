/**
 * Claim cost with flow control against plain claims, measured in the same run, on MemoryJobQueue
 * and SqliteJobQueue (a SQLite file): per claimed job, the time of claim() (limit 1) with
 * - plain: 10,000 unkeyed jobs (the baseline),
 * - distinct keys: 10,000 jobs, each with its own concurrency key (limit 1),
 * - behind a busy key: 10,000 jobs of one key whose only slot is held, queued ahead (higher
 *   priority) of 10,000 plain jobs that are the ones claimed,
 * - rate-limited keys: 10,000 jobs over 100 rate keys (limit 1,000 per minute each).
 * Each claimed job is completed outside the timed section. Run: npx tsx bench/flow-control.ts
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Job, JobQueue } from "../src/core/index.ts";
import { MemoryJobQueue } from "../src/drivers/memory.ts";
import { SqliteJobQueue, type SqliteDatabase } from "../src/drivers/sqlite/index.ts";
import { BASE_TIME, makeJob } from "../src/testing/index.ts";

const N = Number(process.env.BENCH_N ?? 10_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const Database = createRequire(import.meta.url)("better-sqlite3") as new (path: string) => SqliteDatabase;

type Scenario = { name: string; setup: (q: JobQueue) => Promise<void> };
const req = (now: number) => ({ queues: ["default"], limit: 1, leaseMs: 60_000, workerId: "bench", now });

async function enqueueAll(q: JobQueue, jobs: Job[]): Promise<void> {
  for (let i = 0; i < jobs.length; i += 1_000) await q.enqueue(jobs.slice(i, i + 1_000));
}

const scenarios: Scenario[] = [
  { name: "plain (baseline)", setup: (q) => enqueueAll(q, Array.from({ length: N }, () => makeJob())) },
  {
    name: "10,000 distinct keys",
    setup: (q) => enqueueAll(q, Array.from({ length: N }, (_, i) => makeJob({ concurrencyKey: `k${i}`, concurrencyLimit: 1 }))),
  },
  {
    name: "behind one busy key (10,000 waiting)",
    setup: async (q) => {
      await q.enqueue([makeJob({ concurrencyKey: "busy", concurrencyLimit: 1, priority: 100 })]);
      const [held] = await q.claim(req(BASE_TIME));
      if (!held) throw new Error("no busy job claimed");
      await enqueueAll(q, Array.from({ length: N }, () => makeJob({ concurrencyKey: "busy", concurrencyLimit: 1, priority: 10 })));
      await enqueueAll(q, Array.from({ length: N }, () => makeJob()));
    },
  },
  {
    name: "100 rate keys (1,000/min each)",
    setup: (q) => enqueueAll(q, Array.from({ length: N }, (_, i) => makeJob({ rateLimit: { key: `r${i % 100}`, limit: 1_000, periodMs: 60_000 } }))),
  },
];

/** Mean microseconds per claim over N claims (the scenario's claimable jobs). */
async function measure(make: () => { queue: JobQueue; done: () => void }, s: Scenario): Promise<number> {
  const { queue, done } = make();
  try {
    await s.setup(queue);
    let claimTime = 0;
    for (let i = 0; i < N; i++) {
      const now = BASE_TIME + 1 + i;
      const t0 = performance.now();
      const [c] = await queue.claim(req(now));
      claimTime += performance.now() - t0;
      if (!c) throw new Error(`${s.name}: claim ${i} found nothing`);
      if (c.job.concurrencyKey === "busy") throw new Error(`${s.name}: the busy key went over its limit`);
      await queue.complete(c, null, now);
    }
    return (claimTime * 1_000) / N;
  } finally {
    await queue.close();
    done();
  }
}

const drivers: { name: string; make: () => { queue: JobQueue; done: () => void } }[] = [
  { name: "memory", make: () => ({ queue: new MemoryJobQueue(), done: () => {} }) },
  {
    name: "sqlite (file)",
    make: () => {
      const dir = mkdtempSync(join(tmpdir(), "portico-flow-bench-"));
      const db = new Database(join(dir, "jobs.sqlite"));
      return {
        queue: new SqliteJobQueue({ database: db }),
        done: () => {
          db.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
];

console.log(`claim cost per job, ${N} claims, best of ${ROUNDS} rounds (µs; ratio = scenario / plain in the same run)\n`);
console.log("| driver | scenario | µs per claim | vs plain |");
console.log("|---|---|---:|---:|");
for (const d of drivers) {
  const best = new Map<string, number>();
  for (let r = 0; r < ROUNDS; r++) {
    for (const s of scenarios) {
      const us = await measure(d.make, s);
      best.set(s.name, Math.min(best.get(s.name) ?? Infinity, us));
    }
  }
  const base = best.get(scenarios[0]!.name)!;
  for (const s of scenarios) {
    const us = best.get(s.name)!;
    console.log(`| ${d.name} | ${s.name} | ${us.toFixed(1)} | ${(us / base).toFixed(2)}x |`);
  }
}
