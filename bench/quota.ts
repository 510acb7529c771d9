/**
 * What JobService's maxWaitingJobs costs a creation, on the SQL stores, with 100,000 jobs waiting
 * (npm run bench:quota). Each row is a ratio against a baseline measured in the same run, on the
 * same store, rounds interleaved (A, B, B, A, ...) so drift on a shared machine hits both sides:
 * - SQLite, two files loaded the same way, one counted (its first countWaiting installed the
 *   counter's triggers) and one never counted: createJob with maxWaitingJobs on the first vs
 *   without on the second (what turning the limit on costs), the same without a limit on both
 *   (the triggers' share), and claim + complete on both (the triggers on the worker's side).
 * - PostgreSQL: createJob with maxWaitingJobs (the cached count, default 1 s) vs without, and with
 *   a count on every call (waitingCountMaxAgeMs: 0) vs without; plus the exact count's own time.
 *   The server is BENCH_PG_URL or PORTICO_TEST_PG_URL, else a throwaway cluster started here
 *   (scripts/pg-cluster.sh, full durability) and stopped at the end.
 *
 *   BENCH_WAITING=100000 BENCH_JOBS=1000 BENCH_PG_JOBS=10000 BENCH_ROUNDS=6 STORES=sqlite,postgres
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import postgres from "postgres";
import { JobService, type JobQueue } from "../src/core/index.ts";
import { PostgresJobQueue } from "../src/drivers/postgres/index.ts";
import { SqliteJobQueue } from "../src/drivers/sqlite/index.ts";
import { quoteIdent } from "../src/drivers/sql/pg-schema.ts";
import { pgStatements } from "../src/drivers/sql/pg-statements.ts";
import { makeJob } from "../src/testing/index.ts";
import { openSqliteDatabase } from "../runtimes/node/sqlite.ts";
import { startPostgres, type Server } from "./servers/infra.ts";

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const WAITING = env("BENCH_WAITING", 100_000);
const JOBS = env("BENCH_JOBS", 1_000);
const ROUNDS = env("BENCH_ROUNDS", 6);
const PG_JOBS = env("BENCH_PG_JOBS", 10_000);
const STORES = new Set((process.env.STORES ?? "sqlite,postgres").split(","));
const LIMIT = 100_000_000; // never reached: the check runs, the creation goes through

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const us = (ms: number) => `${(ms * 1000).toFixed(1)} us`;
const log = (line: string) => console.error(`  ${line}`);

/** Loads `n` waiting jobs through the port, in batches (no JobService, no limit). */
async function preload(queue: JobQueue, n: number): Promise<void> {
  for (let i = 0; i < n; i += 1_000) {
    await queue.enqueue(Array.from({ length: Math.min(1_000, n - i) }, (_, k) => makeJob({ payload: { i: i + k } })));
  }
}

/**
 * A clock in ms: wall time for PostgreSQL (the work is the server's and the round trips), this
 * process's CPU time for SQLite (the work is all in-process and synchronous, and CPU time is far
 * less disturbed by other processes on a shared machine than wall time).
 */
type Clock = () => number;
const wall: Clock = () => performance.now();
const cpu: Clock = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1_000;
};

/** Milliseconds per createJob over `n` sequential creations. */
async function perCreate(service: JobService, clock: Clock, n = JOBS): Promise<number> {
  const start = clock();
  for (let i = 0; i < n; i++) await service.createJob("bench.quota", { i });
  return (clock() - start) / n;
}

/** Milliseconds per claim + complete of one job, over JOBS jobs. */
async function perClaimComplete(queue: JobQueue, clock: Clock): Promise<number> {
  const start = clock();
  for (let i = 0; i < JOBS; i++) {
    const now = Date.now();
    const [c] = await queue.claim({ queues: ["default"], limit: 1, leaseMs: 60_000, workerId: "bench", now });
    if (!c) throw new Error("nothing to claim");
    await queue.complete(c, null, now);
  }
  return (clock() - start) / JOBS;
}

/** Runs the variants ROUNDS times, order alternating per round; the median per variant. */
async function interleaved(variants: Record<string, () => Promise<number>>): Promise<Record<string, number>> {
  const names = Object.keys(variants);
  const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const n of r % 2 === 0 ? names : [...names].reverse()) samples[n]!.push(await variants[n]!());
  }
  return Object.fromEntries(names.map((n) => [n, median(samples[n]!)]));
}

const rows: string[][] = [["store", "measured (SQLite: CPU time, PostgreSQL: wall time)", "per job", "ratio", "against (same run)"]];
const row = (store: string, what: string, base: number, measured: number, baseline: string) =>
  rows.push([store, what, us(measured), `${(measured / base).toFixed(2)}x`, `${baseline} (${us(base)})`]);

async function sqlite(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "portico-bench-quota-"));
  try {
    const open = async (name: string) => {
      const database = await openSqliteDatabase(join(dir, name));
      return { database, queue: new SqliteJobQueue({ database }) };
    };
    const a = await open("counted.sqlite");
    const b = await open("never-counted.sqlite");
    log(`sqlite: loading ${WAITING} waiting jobs into two files`);
    await preload(a.queue, WAITING);
    await preload(b.queue, WAITING);
    const t0 = performance.now();
    if ((await a.queue.countWaiting()) !== WAITING) throw new Error("the counter disagrees with the load");
    log(`sqlite: the first countWaiting (installs the counter: one count of the rows) ${(performance.now() - t0).toFixed(1)} ms`);
    const limited = new JobService({ queue: a.queue, maxWaitingJobs: LIMIT });
    const counted = new JobService({ queue: a.queue });
    const bare = new JobService({ queue: b.queue });
    const create = await interleaved({ limited: () => perCreate(limited, cpu), counted: () => perCreate(counted, cpu), bare: () => perCreate(bare, cpu) });
    row("sqlite", "createJob, maxWaitingJobs set", create.bare!, create.limited!, "no limit, never counted");
    row("sqlite", "createJob, no limit, counted file", create.bare!, create.counted!, "no limit, never counted");
    const drain = await interleaved({ counted: () => perClaimComplete(a.queue, cpu), bare: () => perClaimComplete(b.queue, cpu) });
    row("sqlite", "claim + complete, counted file", drain.bare!, drain.counted!, "never counted");
    const tables = b.database.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'job_counts'").all() as { n: number }[];
    if (tables[0]!.n !== 0) throw new Error("the never-counted file has a counter");
    const t = performance.now();
    for (let i = 0; i < 1_000; i++) await a.queue.countWaiting();
    log(`sqlite: countWaiting ${us((performance.now() - t) / 1_000)} with ${await a.queue.countWaiting()} waiting`);
    for (const s of [a, b]) {
      await s.queue.close();
      s.database.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function pg(): Promise<void> {
  let server: Server | null = null;
  let url = process.env.BENCH_PG_URL ?? process.env.PORTICO_TEST_PG_URL;
  if (!url) {
    server = await startPostgres();
    url = server.url;
  }
  const schema = `bench_quota_${crypto.randomUUID().replace(/-/g, "")}`;
  const queue = new PostgresJobQueue({ url, max: 4 }, { schema });
  const everyCall = new PostgresJobQueue({ url, max: 4 }, { schema, waitingCountMaxAgeMs: 0 });
  try {
    log(`postgres: loading ${WAITING} waiting jobs`);
    await preload(queue, WAITING);
    const admin = postgres(url, { max: 1, onnotice: () => {} });
    await admin.unsafe(`ANALYZE "${schema}".jobs`);
    const plan = await admin.unsafe(`EXPLAIN ${pgStatements(quoteIdent(schema), "database").countWaiting}`);
    log(`postgres: count plan: ${plan.map((r) => String(r["QUERY PLAN"]).trim()).filter((l) => /Scan/.test(l)).join(" | ")}`);
    await admin.end();
    const plain = new JobService({ queue });
    const limited = new JobService({ queue, maxWaitingJobs: LIMIT });
    const counting = new JobService({ queue: everyCall, maxWaitingJobs: LIMIT });
    // Samples of several seconds, so each holds the count refreshes a steady stream of creations
    // meets (one per second); a count on every call is so slow that a few dozen jobs tell.
    const create = await interleaved({ plain: () => perCreate(plain, wall, PG_JOBS), limited: () => perCreate(limited, wall, PG_JOBS) });
    row("postgres", "createJob, maxWaitingJobs set (cached count, 1 s)", create.plain!, create.limited!, "no limit");
    const slow = await interleaved({ plain: () => perCreate(plain, wall, 50), counting: () => perCreate(counting, wall, 50) });
    row("postgres", "createJob, maxWaitingJobs, a count every call", slow.plain!, slow.counting!, "no limit");
    const counts: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t = performance.now();
      await queue.countWaiting();
      counts.push(performance.now() - t);
    }
    log(`postgres: exact countWaiting ${(median(counts)).toFixed(2)} ms (median of 20) with ${await queue.countWaiting()} waiting`);
  } finally {
    await everyCall.close();
    await queue.close();
    const admin = postgres(url, { max: 1, onnotice: () => {} });
    await admin.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
    server?.stop();
  }
}

console.error(`quota bench: ${WAITING} waiting jobs, ${JOBS} sequential jobs per sample, ${ROUNDS} rounds (median)`);
if (STORES.has("sqlite")) await sqlite();
if (STORES.has("postgres")) await pg();
const table = rows;
const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
for (const r of table) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join("  "));
