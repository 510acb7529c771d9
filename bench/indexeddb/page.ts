/**
 * The benchmark itself, run inside Chromium by bench/indexeddb/run.ts. Every figure is measured
 * in this page, in this run, next to its baseline: raw IndexedDB transactions writing the same
 * rows into the same schema, and workbox-background-sync's Queue for request replay.
 */
import { openDB, type IDBPDatabase } from "idb";
import { Queue } from "workbox-background-sync";
import { JobService, WorkerManager, silentLogger, type Job, type JobHandler, type JobSpec } from "../../src/core/index.ts";
import { MemoryJobQueue } from "../../src/drivers/memory.ts";
import { IndexedDBJobQueue } from "../../src/drivers/indexeddb/index.ts";
import { JOBS, SCHEMA_VERSION, migrate, newRow } from "../../src/drivers/indexeddb/schema.ts";

/** One line of the result table. */
export interface BenchRow {
  name: string;
  portico: string;
  baseline: string;
  ratio: string;
  note: string;
}

const BATCH = 1_000;
const ROUNDS = 9;
const SINGLES = 400;
const noop: JobHandler = { jobType: "noop", handle: async () => ({ success: true }) };

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
/**
 * Paired ratio: the median of per-round ratios. Both sides of a round run back to back on fresh
 * databases, so load from other processes mostly cancels out within a pair.
 */
const pairedRatio = (ours: number[], base: number[]) => `${median(ours.map((x, i) => x / base[i]!)).toFixed(2)}x`;
const ms = (x: number) => `${x.toFixed(2)} ms`;
const dbName = (tag: string) => `bench-${tag}-${crypto.randomUUID()}`;

/** Collects garbage first when the page allows it (run.ts launches Chromium with --expose-gc). */
async function time(fn: () => Promise<unknown>): Promise<number> {
  (globalThis as { gc?: () => void }).gc?.();
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

function deleteDb(name: string): Promise<void> {
  return new Promise((resolve) => {
    const r = indexedDB.deleteDatabase(name);
    r.onsuccess = r.onerror = r.onblocked = () => resolve();
  });
}

/** A database with exactly the driver's schema, written to directly. */
function rawDb(name: string): Promise<IDBPDatabase> {
  return openDB(name, SCHEMA_VERSION, { upgrade: (db, o, n, tx) => migrate(db, o, n ?? SCHEMA_VERSION, tx as never) });
}

const specs = (n: number, offset = 0): JobSpec[] =>
  Array.from({ length: n }, (_, i) => ({ jobType: "noop", payload: { i: i + offset, text: "bench item" }, options: { priority: i % 3 } }));

/** createJobs(1,000) and enqueue(1,000) against raw puts of the same rows in one transaction. */
async function batchInsert(): Promise<BenchRow[]> {
  const create: number[] = [];
  const enqueue: number[] = [];
  const raw: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // Fresh databases each round, measured in alternating order so neither side gets the warm one.
    const names = [dbName("create"), dbName("enqueue"), dbName("raw")];
    const q1 = new IndexedDBJobQueue({ dbName: names[0] });
    const q2 = new IndexedDBJobQueue({ dbName: names[1] });
    const db = await rawDb(names[2]!);
    const service = new JobService({ queue: q1 });
    await q1.stats(); // open outside the timed region
    await q2.stats();
    // The very rows the driver writes, built before timing (the driver builds them inside).
    const jobs = await buildJobs(BATCH);
    const rows = jobs.map((j, i) => newRow(j, i + 1));
    const runs: [number[], () => Promise<unknown>][] = [
      [create, () => service.createJobs(specs(BATCH))],
      [enqueue, () => q2.enqueue(jobs)],
      [
        raw,
        async () => {
          const tx = db.transaction(JOBS, "readwrite", { durability: "relaxed" });
          for (const row of rows) void tx.store.put(row);
          await tx.done;
        },
      ],
    ];
    // Rotate who goes first, so no side always runs right after building the fixtures.
    for (let k = 0; k < runs.length; k++) {
      const [sink, run] = runs[(k + round) % runs.length]!;
      sink.push(await time(run));
    }
    await q1.close();
    await q2.close();
    db.close();
    for (const n of names) await deleteDb(n);
  }
  const r = median(raw);
  return [
    { name: "createJobs, 1,000 jobs (JobService: validate + one transaction)", portico: ms(median(create)), baseline: ms(r), ratio: pairedRatio(create, raw), note: "baseline: 1,000 raw puts of the same rows, one transaction, same indexes" },
    { name: "queue.enqueue, 1,000 jobs (driver only)", portico: ms(median(enqueue)), baseline: ms(r), ratio: pairedRatio(enqueue, raw), note: "same baseline" },
  ];
}

/** Jobs built by JobService exactly as createJobs builds them (kept in memory, not in IndexedDB). */
async function buildJobs(n: number): Promise<Job[]> {
  return new JobService({ queue: new MemoryJobQueue() }).createJobs(specs(n));
}

/**
 * One createJob (its own transaction) against a one-put transaction. Timed in blocks of
 * BLOCK sequential calls (Chromium coarsens performance.now() to 0.1 ms, too coarse for one
 * call), blocks alternating between the two sides; the figure is the median block / BLOCK.
 */
async function singleInsert(): Promise<BenchRow[]> {
  const BLOCK = 20;
  const name = dbName("single");
  const rawName = dbName("single-raw");
  const q = new IndexedDBJobQueue({ dbName: name });
  const service = new JobService({ queue: q });
  const db = await rawDb(rawName);
  await q.stats();
  const jobs = await buildJobs(SINGLES);
  const rows = jobs.map((j, i) => newRow(j, i + 1));
  const q2 = new IndexedDBJobQueue({ dbName: `${name}-enqueue` });
  await q2.stats();
  const ours: number[] = [];
  const driver: number[] = [];
  const raw: number[] = [];
  const a = async (block: number) => {
    for (let i = block * BLOCK; i < (block + 1) * BLOCK; i++) await service.createJob("noop", { i, text: "bench item" }, { priority: i % 3 });
  };
  const c = async (block: number) => {
    for (let i = block * BLOCK; i < (block + 1) * BLOCK; i++) await q2.enqueue([jobs[i]!]);
  };
  const b = async (block: number) => {
    for (let i = block * BLOCK; i < (block + 1) * BLOCK; i++) {
      const tx = db.transaction(JOBS, "readwrite", { durability: "relaxed" });
      void tx.store.put(rows[i]!);
      await tx.done;
    }
  };
  for (let block = 0; block < SINGLES / BLOCK; block++) {
    const sides: [number[], () => Promise<void>][] = [
      [ours, () => a(block)],
      [driver, () => c(block)],
      [raw, () => b(block)],
    ];
    for (let k = 0; k < sides.length; k++) {
      const [sink, run] = sides[(k + block) % sides.length]!;
      sink.push(await time(run));
    }
  }
  await q.close();
  await q2.close();
  await deleteDb(`${name}-enqueue`);
  db.close();
  await deleteDb(name);
  await deleteDb(rawName);
  // What JobService itself costs per call (validation, copying), with an in-memory store.
  const memory = new JobService({ queue: new MemoryJobQueue() });
  const coreBlocks: number[] = [];
  for (let block = 0; block < SINGLES / BLOCK; block++) {
    coreBlocks.push(
      await time(async () => {
        for (let i = 0; i < BLOCK; i++) await memory.createJob("noop", { i, text: "bench item" }, { priority: i % 3 });
      }),
    );
  }
  const core = median(coreBlocks) / BLOCK;
  const [o, d, r] = [median(ours) / BLOCK, median(driver) / BLOCK, median(raw) / BLOCK];
  return [
    { name: `createJob, one job (${SINGLES} calls, JobService)`, portico: ms(o), baseline: ms(r), ratio: pairedRatio(ours, raw), note: "baseline: one put in its own transaction" },
    { name: `queue.enqueue, one job (${SINGLES} calls, driver only)`, portico: ms(d), baseline: ms(r), ratio: pairedRatio(driver, raw), note: "same baseline" },
    { name: "createJob on MemoryJobQueue (JobService's own cost)", portico: ms(core), baseline: "", ratio: "", note: "validation and copying, no storage" },
  ];
}

/** Drains 1,000 jobs with a no-op handler; jobs/s from worker start to the last completion. */
async function drain(concurrency: number): Promise<BenchRow> {
  const rates: number[] = [];
  for (let round = 0; round < 3; round++) {
    const name = dbName("drain");
    const q = new IndexedDBJobQueue({ dbName: name });
    await new JobService({ queue: q }).createJobs(specs(BATCH));
    const worker = new WorkerManager({ queue: q, handlers: [noop], concurrency, logger: silentLogger });
    let done = 0;
    const finished = new Promise<void>((resolve) => worker.addEventListener("job:completed", () => ++done === BATCH && resolve()));
    const elapsed = await time(async () => {
      await worker.start();
      await finished;
    });
    await worker.stop();
    await q.close();
    await deleteDb(name);
    rates.push(BATCH / (elapsed / 1_000));
  }
  const rate = median(rates);
  return { name: `drain 1,000 jobs, no-op handler, concurrency ${concurrency}`, portico: `${Math.round(rate)} jobs/s`, baseline: "", ratio: "", note: "WorkerManager: a claim transaction per free slot batch, completes group-committed" };
}

/**
 * The same 1,000 requests through workbox-background-sync's Queue and through portico-jobs:
 * enqueue one by one, then deliver to a local endpoint.
 */
async function workbox(): Promise<BenchRow[]> {
  // Queue expects a service worker scope: it reads self.registration at construction. A page has
  // none, so give it an empty one (no sync API => its "fallback" mode, replay on demand).
  if (!("registration" in self)) Object.defineProperty(self, "registration", { value: {}, configurable: true });
  const wb = new Queue(`bench-${crypto.randomUUID()}`);
  const request = (i: number) =>
    new Request("/sink", { method: "POST", headers: { "content-type": "application/json", "webhook-id": `wb-${i}` }, body: JSON.stringify({ i }) });
  const wbPush = await time(async () => {
    for (let i = 0; i < BATCH; i++) await wb.pushRequest({ request: request(i) });
  });
  const wbReplay = await time(() => wb.replayRequests());

  const name = dbName("deliver");
  const q = new IndexedDBJobQueue({ dbName: name });
  const send: JobHandler<{ i: number }> = {
    jobType: "send",
    async handle(job, { signal }) {
      const res = await fetch("/sink", { method: "POST", headers: { "content-type": "application/json", "webhook-id": job.id }, body: JSON.stringify(job.payload), signal });
      if (!res.ok) throw new Error(`sink answered ${res.status}`);
      return { success: true };
    },
  };
  const service = new JobService({ queue: q, handlers: [send] });
  await q.stats();
  const ourPush = await time(async () => {
    for (let i = 0; i < BATCH; i++) await service.createJob("send", { i });
  });
  const worker = new WorkerManager({ queue: q, handlers: [send], concurrency: 4, logger: silentLogger });
  let done = 0;
  const finished = new Promise<void>((resolve) => worker.addEventListener("job:completed", () => ++done === BATCH && resolve()));
  const ourDeliver = await time(async () => {
    await worker.start();
    await finished;
  });
  await worker.stop();
  await q.close();
  await deleteDb(name);
  return [
    { name: "enqueue 1,000 requests one by one", portico: ms(ourPush), baseline: ms(wbPush), ratio: `${(ourPush / wbPush).toFixed(2)}x`, note: "baseline: workbox Queue.pushRequest" },
    {
      name: "deliver 1,000 queued requests to a local endpoint",
      portico: `${ms(ourDeliver)} (${Math.round(BATCH / (ourDeliver / 1000))}/s, concurrency 4)`,
      baseline: `${ms(wbReplay)} (${Math.round(BATCH / (wbReplay / 1000))}/s, sequential)`,
      ratio: `${(ourDeliver / wbReplay).toFixed(2)}x`,
      note: "baseline: workbox Queue.replayRequests",
    },
  ];
}

/** Runs everything; the driver script prints the table. */
async function runAll(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  rows.push(...(await batchInsert()));
  rows.push(...(await singleInsert()));
  rows.push(await drain(4));
  rows.push(await drain(16));
  rows.push(...(await workbox()));
  return rows;
}

declare global {
  interface Window {
    runIndexedDBBench?: () => Promise<BenchRow[]>;
  }
}
window.runIndexedDBBench = runAll;
