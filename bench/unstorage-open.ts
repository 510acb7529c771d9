/**
 * Opening an unstorage job store (the atomic fs driver serve() uses) with many jobs stored: open
 * time and heap per stored job, against baselines measured in the same run:
 *  - "one-key layout": the layout before head and body keys (the whole record under one key),
 *    read the way its open read it (getKeys, getItemRaw, JSON.parse), the parsed records kept,
 *    as that store kept them;
 *  - "raw heads": getKeys + getItemRaw of the current head keys, no parsing: the floor of any open.
 * Run: node --expose-gc --import tsx bench/unstorage-open.ts   (BENCH_JOBS=100000 BENCH_PAYLOAD=1024)
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createStorage, type Storage } from "unstorage";
import type { Job } from "../src/core/index.ts";
import { toJobRecord } from "../src/core/job-record.ts";
import { randomId } from "../src/core/random-id.ts";
import { UnstorageJobQueue } from "../src/drivers/unstorage/index.ts";
import { makeJob } from "../src/testing/index.ts";
import { atomicFsDriver } from "../runtimes/node/atomic-fs-driver.ts";

const N = Number(process.env.BENCH_JOBS ?? 100_000);
const PAYLOAD = Number(process.env.BENCH_PAYLOAD ?? 1024);
const BATCH = 500;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with node --expose-gc");

function heapUsed(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

function job(i: number, now: number): Job {
  return makeJob({ id: randomId(), jobType: "webhook", payload: { n: i, text: "x".repeat(PAYLOAD) }, metadata: { source: "bench" }, createdAt: new Date(now) });
}

async function readAll(storage: Storage, base: string, parse: boolean): Promise<unknown[]> {
  const keys = await storage.getKeys(base);
  const out: unknown[] = [];
  for (let i = 0; i < keys.length; i += 256) {
    const raws = await Promise.all(keys.slice(i, i + 256).map((k) => storage.getItemRaw(k)));
    for (const raw of raws) out.push(parse ? JSON.parse(String(raw)) : raw);
  }
  return out;
}

async function main(): Promise<void> {
  const current = await mkdtemp(join(tmpdir(), "portico-bench-open-"));
  const oneKey = await mkdtemp(join(tmpdir(), "portico-bench-open-v2-"));
  try {
    console.log(`${N.toLocaleString("en")} pending jobs of ${PAYLOAD} bytes of payload, atomic fs driver`);
    const now = Date.now();
    const filler = new UnstorageJobQueue({ storage: createStorage({ driver: atomicFsDriver({ base: current }) }), lockSettleMs: 0 });
    const legacy = createStorage({ driver: atomicFsDriver({ base: oneKey }) });
    let seq = 0;
    for (let i = 0; i < N; i += BATCH) {
      const jobs = Array.from({ length: Math.min(BATCH, N - i) }, (_, k) => job(i + k, now));
      await filler.enqueue(jobs);
      await Promise.all(jobs.map((j) => legacy.setItem(`jobs:${j.id}`, { v: 2, seq: seq++, token: null, leaseExpiresAt: 0, finishedAt: 0, job: toJobRecord(j) } as never)));
    }
    await filler.close();

    // Baseline 1: the one-key layout, read and parsed as its open did, records kept.
    let before = heapUsed();
    let start = performance.now();
    const records = await readAll(legacy, "jobs", true);
    const oneKeyMs = performance.now() - start;
    const oneKeyHeap = (heapUsed() - before) / N;
    if (records.length !== N) throw new Error(`one-key layout: read ${records.length} records`);
    records.length = 0;

    // Baseline 2: the current heads, read raw (no parsing, nothing kept but the strings).
    const heads = createStorage({ driver: atomicFsDriver({ base: current }) });
    start = performance.now();
    const raws = await readAll(heads, "jobs", false);
    const rawMs = performance.now() - start;
    if (raws.length !== N) throw new Error(`raw heads: read ${raws.length} keys`);
    raws.length = 0;

    // The store itself.
    const queue = new UnstorageJobQueue({ storage: createStorage({ driver: atomicFsDriver({ base: current }) }), lockSettleMs: 0 });
    before = heapUsed();
    start = performance.now();
    await queue.open();
    const openMs = performance.now() - start;
    const openHeap = (heapUsed() - before) / N;
    const pending = (await queue.stats()).byStatus.pending;
    if (pending !== N) throw new Error(`open: ${pending} pending jobs`);
    await queue.close();

    const row = (name: string, ms: number, heap: string) => console.log(`${name.padEnd(34)} ${ms.toFixed(0).padStart(7)} ms ${heap}`);
    row("UnstorageJobQueue.open()", openMs, `${openHeap.toFixed(0).padStart(7)} bytes of heap per job`);
    row("one-key layout: read + parse, kept", oneKeyMs, `${oneKeyHeap.toFixed(0).padStart(7)} bytes of heap per job`);
    row("raw heads: getKeys + getItemRaw", rawMs, "");
    console.log(`open time: ${(openMs / oneKeyMs).toFixed(2)}x the one-key layout's read, ${(openMs / rawMs).toFixed(2)}x the raw head reads`);
    console.log(`heap per job: ${(openHeap / oneKeyHeap).toFixed(3)}x the one-key layout's (${(oneKeyHeap / openHeap).toFixed(1)} times less)`);
  } finally {
    await rm(current, { recursive: true, force: true });
    await rm(oneKey, { recursive: true, force: true });
  }
}

await main();
