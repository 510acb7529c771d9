/**
 * Dashboard and waitForJob benchmarks (npm run bench:dashboard):
 * 1. waitForJob latency (enqueue -> resolved, no-op handler), against the baseline of the same
 *    run's job:completed event (the earliest moment anything could know), on memory, the fs store,
 *    SQLite and PostgreSQL (BENCH_PG_URL or PORTICO_TEST_PG_URL; STORES=... skips it).
 * 2. The dashboard's stats and job-list calls (through its HTTP API, JSON included) with 100,000
 *    jobs stored vs 1,000, on the same store: the ratio shows whether a call scans.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createStorage } from "unstorage";
import fsDriver from "unstorage/drivers/fs";
import { JobService, WorkerManager, silentLogger, type JobQueue } from "../src/core/index.ts";
import { MemoryJobQueue } from "../src/drivers/memory.ts";
import { UnstorageJobQueue } from "../src/drivers/unstorage/index.ts";
import { SqliteJobQueue } from "../src/drivers/sqlite/index.ts";
import { PostgresJobQueue } from "../src/drivers/postgres/index.ts";
import postgres from "postgres";
import { openSqliteDatabase } from "../runtimes/node/sqlite.ts";
import { createDashboard } from "../src/dashboard/index.ts";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)]!;
const fmt = (ms: number) => (ms < 1 ? `${(ms * 1000).toFixed(0)} us` : `${ms.toFixed(2)} ms`);

interface Store {
  name: string;
  open(): Promise<{ queue: JobQueue; dispose(): Promise<void> }>;
}

const stores: Store[] = [
  { name: "memory", open: async () => { const queue = new MemoryJobQueue({ retention: { maxCount: 200_000 } }); return { queue, dispose: () => queue.close() }; } },
  {
    name: "fs (unstorage)",
    open: async () => {
      const dir = await mkdtemp(join(tmpdir(), "portico-bench-dash-"));
      const queue = new UnstorageJobQueue({ storage: createStorage({ driver: fsDriver({ base: dir }) }), lockSettleMs: 0, retention: { maxCount: 200_000 } });
      return { queue, dispose: async () => { await queue.close(); await rm(dir, { recursive: true, force: true }); } };
    },
  },
  {
    name: "sqlite (file)",
    open: async () => {
      const dir = await mkdtemp(join(tmpdir(), "portico-bench-dash-"));
      const database = await openSqliteDatabase(join(dir, "jobs.sqlite"));
      const queue = new SqliteJobQueue({ database }, { retention: { maxCount: 200_000 } });
      return { queue, dispose: async () => { await queue.close(); database.close(); await rm(dir, { recursive: true, force: true }); } };
    },
  },
  {
    // A schema of its own on the server of BENCH_PG_URL (or the tests' PORTICO_TEST_PG_URL), dropped after.
    name: "postgres",
    open: async () => {
      const url = process.env.BENCH_PG_URL ?? process.env.PORTICO_TEST_PG_URL;
      if (!url) throw new Error("the postgres row needs BENCH_PG_URL (or PORTICO_TEST_PG_URL): `bash scripts/pg-cluster.sh start` prints one");
      const schema = `bench_dash_${process.pid}_${Math.floor(performance.now())}`;
      const queue = new PostgresJobQueue({ url }, { schema, retention: { maxCount: 200_000 } });
      return {
        queue,
        dispose: async () => {
          await queue.close();
          const sql = postgres(url, { max: 1, onnotice: () => {} });
          await sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
          await sql.end();
        },
      };
    },
  },
];
// STORES=sqlite runs a subset (names are matched by prefix).
const only = process.env.STORES?.split(",");
const selected = only ? stores.filter((s) => only.some((o) => s.name.startsWith(o))) : stores;

async function waitLatency(store: Store, rounds: number): Promise<void> {
  const { queue, dispose } = await store.open();
  const service = new JobService({ queue });
  const worker = new WorkerManager({ queue, handlers: [{ jobType: "noop", handle: async () => ({ success: true }) }], concurrency: 1, logger: silentLogger });
  const doneAt = new Map<string, number>();
  const onDone = new Map<string, () => void>();
  worker.addEventListener("job:completed", (e) => {
    doneAt.set(e.job.id, performance.now());
    onDone.get(e.job.id)?.();
  });
  await worker.start();
  const wait: number[] = [];
  const event: number[] = [];
  try {
    for (let i = 0; i < rounds; i++) {
      const t0 = performance.now();
      const job = await service.createJob("noop", { i });
      await service.waitForJob(job.id, { timeoutMs: 10_000 });
      wait.push(performance.now() - t0);
      // On PostgreSQL the finish NOTIFY can reach the waiter before the worker's own event fires.
      if (!doneAt.has(job.id)) await new Promise<void>((resolve) => onDone.set(job.id, resolve));
      event.push(doneAt.get(job.id)! - t0);
    }
  } finally {
    await worker.stop();
    await dispose();
  }
  console.log(`| ${store.name} | ${fmt(median(event))} | ${fmt(median(wait))} | ${fmt(p95(wait))} | ${(median(wait) / median(event)).toFixed(2)}x |`);
}

async function fill(queue: JobQueue, service: JobService, n: number, have: number): Promise<void> {
  for (let i = have; i < n; i += 1_000) {
    await service.createJobs(Array.from({ length: Math.min(1_000, n - i) }, (_, k) => ({ jobType: "t", payload: { i: i + k }, options: { queueName: `q${(i + k) % 4}` } })));
  }
}

async function timeCall(fn: () => Promise<unknown>, reps: number): Promise<number> {
  for (let i = 0; i < 3; i++) await fn();
  const xs: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    xs.push(performance.now() - t0);
  }
  return median(xs);
}

async function dashboardCalls(store: Store, sizes: number[]): Promise<void> {
  const { queue, dispose } = await store.open();
  const service = new JobService({ queue });
  const app = createDashboard({ jobService: service, auth: false });
  const get = async (path: string) => {
    const res = await app.request(`/admin/api${path}`);
    if (!res.ok) throw new Error(`${path}: ${res.status}`);
    return res.json() as Promise<{ nextCursor?: string }>;
  };
  const rows: Record<string, number[]> = { stats: [], "first page (50)": [], "page after a cursor": [], "page, status=pending&queue=q1": [] };
  let have = 0;
  try {
    for (const n of sizes) {
      await fill(queue, service, n, have);
      have = n;
      // A cursor deep in the list: the 10th page.
      let cursor = "";
      for (let p = 0; p < 10; p++) cursor = (await get(`/jobs?limit=50${cursor ? `&cursor=${cursor}` : ""}`)).nextCursor!;
      rows.stats!.push(await timeCall(() => get("/stats"), 30));
      rows["first page (50)"]!.push(await timeCall(() => get("/jobs?limit=50"), 30));
      rows["page after a cursor"]!.push(await timeCall(() => get(`/jobs?limit=50&cursor=${cursor}`), 30));
      rows["page, status=pending&queue=q1"]!.push(await timeCall(() => get("/jobs?limit=50&status=pending&queue=q1"), 30));
    }
  } finally {
    await dispose();
  }
  for (const [call, [small, big]] of Object.entries(rows)) {
    console.log(`| ${store.name} | ${call} | ${fmt(small!)} | ${fmt(big!)} | ${(big! / small!).toFixed(2)}x |`);
  }
}

const rounds = Number(process.env.ROUNDS ?? 200);
const big = Number(process.env.JOBS ?? 100_000);
console.log(`\nwaitForJob, ${rounds} jobs one after another (no-op handler, concurrency 1)\n`);
console.log("| store | job:completed event (baseline) | waitForJob median | waitForJob p95 | ratio |");
console.log("|---|---|---|---|---|");
for (const s of selected) await waitLatency(s, rounds);
console.log(`\nDashboard API calls (median of 30, JSON included), 1,000 vs ${big.toLocaleString("en")} jobs stored\n`);
console.log(`| store | call | 1,000 jobs | ${big.toLocaleString("en")} jobs | ratio |`);
console.log("|---|---|---|---|---|");
for (const s of selected) await dashboardCalls(s, [1_000, big]);
