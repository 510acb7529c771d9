/**
 * The server stores side by side, one run on one machine: portico's SQLite and PostgreSQL stores
 * against its fs store, BullMQ on a local Redis and pg-boss on the same PostgreSQL, plus each SQL
 * engine's ceiling (a bare insert/update/update loop). Starts its own PostgreSQL and Redis on free
 * ports (BENCH_PG_PORT / BENCH_REDIS_PORT to choose them) and stops them at the end.
 *
 * Run: npm run bench:servers
 *   BENCH_ONLY=sqlite,postgres  only these contenders (fs, sqlite, postgres, bullmq, pgboss)
 *   BENCH_JOBS=10000 BENCH_WAITING=100000 BENCH_PGBOSS_JOBS=2000 BENCH_SAMPLES=200
 */
import { fork, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { postgresCeiling, sqliteCeiling } from "./servers/ceiling.ts";
import { labelOf, openContender, wipe, type Contender, type ContenderConfig, type Payload } from "./servers/contenders.ts";
import { startPostgres, startRedis, type Server } from "./servers/infra.ts";

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const JOBS = env("BENCH_JOBS", 10_000);
const WAITING = env("BENCH_WAITING", 100_000);
// pg-boss polls (at best every 0.5 s per batch of 50), so 10,000 jobs would take minutes.
const PGBOSS_JOBS = env("BENCH_PGBOSS_JOBS", 2_000);
const SAMPLES = env("BENCH_SAMPLES", 200);
const BATCH = 100;
const CONCURRENCY = 50;
const ONLY = new Set((process.env.BENCH_ONLY ?? "fs,sqlite,postgres,bullmq,pgboss").split(","));

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (line: string) => console.error(`  ${line}`);

type Kind = ContenderConfig["kind"];
interface Row {
  enqueue?: number;
  process?: number;
  processWaiting?: number;
  openMs?: number;
  latency?: [number, number];
  remoteLatency?: [number, number];
  scaling?: number;
  ceiling?: number;
  jobs?: number;
  note?: string;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function enqueueAll(contender: Contender, n: number, batch: number): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < n; i += batch) {
    const payloads: Payload[] = [];
    for (let j = i; j < Math.min(n, i + batch); j++) payloads.push({ i: j });
    await contender.enqueue(payloads);
  }
  return performance.now() - start;
}

/** Runs a worker until `n` jobs are done; jobs per second. */
async function drain(contender: Contender, n: number): Promise<number> {
  let done = 0;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const start = performance.now();
  const worker = await contender.work(CONCURRENCY, { onStart() {}, onDone: () => ++done === n && finish() });
  await finished;
  const ms = performance.now() - start;
  await worker.stop();
  return (n / ms) * 1000;
}

/** Enqueue -> handler start on an idle worker, one job at a time; [p50, p99] in ms. */
async function latency(contender: Contender, samples: number, enqueue: (n: number) => Promise<void>): Promise<[number, number]> {
  const seen: number[] = [];
  let started: ((payload: Payload) => void) | null = null;
  const worker = await contender.work(CONCURRENCY, { onStart: (payload) => started?.(payload), onDone() {} });
  await sleep(200); // let the worker go idle (its first claim found nothing)
  for (let n = 0; n < samples; n++) {
    const handled = new Promise<Payload>((resolve) => (started = resolve));
    await enqueue(n);
    const payload = await handled;
    seen.push(now() - (payload.sentAt as number));
    await sleep(5);
  }
  await worker.stop();
  seen.sort((a, b) => a - b);
  return [percentile(seen, 50), percentile(seen, 99)];
}

function child(mode: "work" | "enqueue", config: ContenderConfig): { process: ChildProcess; next(type: string): Promise<any> } {
  const proc = fork(join(import.meta.dirname, "servers/child.ts"), [mode, JSON.stringify(config)], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const waiting: { type: string; resolve: (m: any) => void }[] = [];
  proc.on("message", (message: Record<string, unknown>) => {
    const i = waiting.findIndex((w) => w.type in message);
    if (i >= 0) waiting.splice(i, 1)[0]!.resolve(message);
  });
  children.add(proc);
  proc.once("exit", () => children.delete(proc));
  return { process: proc, next: (type) => new Promise((resolve) => waiting.push({ type, resolve })) };
}
const children = new Set<ChildProcess>();

/** Jobs per second of `processes` child processes working one store together. */
async function processesRate(config: ContenderConfig, processes: number, n: number): Promise<number> {
  await wipe(config);
  const seed = await openContender(config);
  await enqueueAll(seed, n, 1000);
  await seed.close();
  const workers = Array.from({ length: processes }, () => child("work", config));
  await Promise.all(workers.map((w) => w.next("ready")));
  const done = new Array<number>(processes).fill(0);
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  workers.forEach((w, i) =>
    w.process.on("message", (m: { done?: number }) => {
      if (m.done === undefined) return;
      done[i] = m.done;
      if (done.reduce((a, b) => a + b, 0) >= n) finish();
    }),
  );
  const start = performance.now();
  for (const w of workers) w.process.send({ go: CONCURRENCY });
  await finished;
  const ms = performance.now() - start;
  await Promise.all(workers.map((w) => (w.process.send({ stop: true }), w.next("stopped"))));
  return (n / ms) * 1000;
}

async function measure(kind: Kind, config: () => ContenderConfig): Promise<Row> {
  const row: Row = {};
  const jobs = kind === "pgboss" ? PGBOSS_JOBS : JOBS;
  row.jobs = jobs;
  const cfg = config();

  // Enqueue N in batches of 100, then process them.
  await wipe(cfg);
  let contender = await openContender(cfg);
  row.enqueue = (jobs / (await enqueueAll(contender, jobs, BATCH))) * 1000;
  log(`${labelOf(cfg)}: enqueue ${row.enqueue.toFixed(0)} jobs/s`);
  row.process = await drain(contender, jobs);
  log(`${labelOf(cfg)}: process ${row.process.toFixed(0)} jobs/s`);
  await contender.close();

  // 100,000 waiting: open time of the full store, then process N of them.
  await wipe(cfg);
  contender = await openContender(cfg);
  await enqueueAll(contender, WAITING, 1000);
  await contender.close();
  if (kind !== "bullmq") {
    const start = performance.now();
    contender = await openContender(cfg);
    await contender.ready();
    row.openMs = performance.now() - start;
    log(`${labelOf(cfg)}: open with ${WAITING} stored ${row.openMs.toFixed(1)} ms`);
  } else {
    contender = await openContender(cfg);
  }
  row.processWaiting = await drain(contender, jobs);
  log(`${labelOf(cfg)}: process with ${WAITING} waiting ${row.processWaiting.toFixed(0)} jobs/s`);
  await contender.close();

  // Wake latency on an idle queue, enqueued in this process and from another one.
  const samples = kind === "pgboss" ? Math.min(SAMPLES, 20) : SAMPLES;
  await wipe(cfg);
  contender = await openContender(cfg);
  row.latency = await latency(contender, samples, (n) => contender.enqueue([{ sentAt: now(), n }]));
  log(`${labelOf(cfg)}: latency p50 ${row.latency[0].toFixed(2)} ms, p99 ${row.latency[1].toFixed(2)} ms`);
  if (kind !== "fs") {
    const remote = child("enqueue", cfg);
    await remote.next("ready");
    row.remoteLatency = await latency(contender, samples, async (n) => {
      remote.process.send({ send: n });
      await remote.next("sent");
    });
    remote.process.send({ stop: true });
    await remote.next("stopped");
    log(`${labelOf(cfg)}: latency from another process p50 ${row.remoteLatency[0].toFixed(2)} ms, p99 ${row.remoteLatency[1].toFixed(2)} ms`);
  }
  await contender.close();

  // Two processes against one (the fs store has one owner at a time; pg-boss polls).
  if (kind === "sqlite" || kind === "postgres" || kind === "bullmq") {
    const one = await processesRate(cfg, 1, jobs);
    const two = await processesRate(cfg, 2, jobs);
    row.scaling = two / one;
    log(`${labelOf(cfg)}: 1 process ${one.toFixed(0)} jobs/s, 2 processes ${two.toFixed(0)} jobs/s`);
  }
  await wipe(cfg);
  return row;
}

const fmt = (v: number | undefined, digits = 0) => (v === undefined ? "-" : v.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }));
const fmtPair = (v: [number, number] | undefined) => (v ? `${fmt(v[0], 1)} / ${fmt(v[1], 1)}` : "-");

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), "portico-bench-"));
  let pg: Server | null = null;
  let redis: Server | null = null;
  const stopAll = () => {
    for (const c of children) c.kill("SIGKILL");
    redis?.stop();
    pg?.stop();
  };
  process.once("SIGINT", () => (stopAll(), process.exit(130)));
  try {
    if (ONLY.has("postgres") || ONLY.has("pgboss")) pg = await startPostgres(process.env.BENCH_PG_PORT ? Number(process.env.BENCH_PG_PORT) : undefined);
    if (ONLY.has("bullmq")) redis = await startRedis(process.env.BENCH_REDIS_PORT ? Number(process.env.BENCH_REDIS_PORT) : undefined);
    const configs: Record<Kind, () => ContenderConfig> = {
      fs: () => ({ kind: "fs", dir: join(work, "fs") }),
      sqlite: () => ({ kind: "sqlite", path: join(work, "jobs.sqlite") }),
      postgres: () => ({ kind: "postgres", url: pg!.url, schema: "portico_bench" }),
      bullmq: () => ({ kind: "bullmq", redisPort: redis!.port, queue: "bench" }),
      pgboss: () => ({ kind: "pgboss", url: pg!.url, schema: "pgboss_bench" }),
    };
    const rows: Partial<Record<Kind, Row>> = {};
    for (const kind of ["fs", "sqlite", "postgres", "bullmq", "pgboss"] as const) {
      if (!ONLY.has(kind)) continue;
      console.error(`== ${kind}`);
      try {
        rows[kind] = await measure(kind, configs[kind]);
      } catch (error) {
        rows[kind] = { note: (error as Error).message.split("\n")[0] };
        log(`${kind} failed: ${rows[kind].note}`);
      }
    }
    console.error("== ceilings");
    if (rows.sqlite) rows.sqlite.ceiling = await sqliteCeiling(join(work, "ceiling.sqlite"), JOBS);
    if (rows.postgres && pg) rows.postgres.ceiling = await postgresCeiling(pg.url, JOBS);
    print(rows);
  } finally {
    stopAll();
    await rm(work, { recursive: true, force: true });
  }
}

function print(rows: Partial<Record<Kind, Row>>): void {
  const kinds = (["fs", "sqlite", "postgres", "bullmq", "pgboss"] as const).filter((k) => rows[k]);
  const names = { fs: "portico fs", sqlite: "portico sqlite", postgres: "portico postgres", bullmq: "BullMQ", pgboss: "pg-boss" };
  const line = (label: string, cell: (row: Row) => string) => console.log(`| ${label} | ${kinds.map((k) => cell(rows[k]!)).join(" | ")} |`);
  console.log(`\nnode ${process.versions.node}, ${JOBS.toLocaleString("en-US")} jobs (pg-boss ${PGBOSS_JOBS.toLocaleString("en-US")}), concurrency ${CONCURRENCY}, one run\n`);
  console.log(`| | ${kinds.map((k) => names[k]).join(" | ")} |`);
  console.log(`|---|${kinds.map(() => "---:").join("|")}|`);
  line("enqueue in batches of 100, jobs/s", (r) => r.note ?? fmt(r.enqueue));
  line(`process no-op jobs at concurrency ${CONCURRENCY}, jobs/s`, (r) => fmt(r.process));
  line(`same with ${WAITING.toLocaleString("en-US")} waiting, jobs/s`, (r) => fmt(r.processWaiting));
  line(`open with ${WAITING.toLocaleString("en-US")} stored, ms`, (r) => fmt(r.openMs, 1));
  line("enqueue -> start p50 / p99, ms", (r) => fmtPair(r.latency));
  line("same from another process, ms", (r) => fmtPair(r.remoteLatency));
  line("2 processes / 1", (r) => (r.scaling === undefined ? "-" : `${fmt(r.scaling, 2)}x`));
  line("ceiling: bare insert/update/update loop, jobs/s", (r) => fmt(r.ceiling));

  const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b ? a / b : undefined);
  const { sqlite, postgres, bullmq, pgboss } = rows;
  const checks: [string, number | undefined, (v: number) => boolean, string][] = [
    ["sqlite processing / its ceiling", ratio(sqlite?.process, sqlite?.ceiling), (v) => v >= 0.5, ">= 0.5x"],
    ["postgres processing / its ceiling", ratio(postgres?.process, postgres?.ceiling), (v) => v >= 0.5, ">= 0.5x"],
    ["sqlite processing / BullMQ", ratio(sqlite?.process, bullmq?.process), (v) => v >= 1, ">= 1x"],
    ["sqlite open with 100,000 stored, ms", sqlite?.openMs, (v) => v < 100, "< 100 ms"],
    ["postgres processing / BullMQ", ratio(postgres?.process, bullmq?.process), (v) => v >= 0.5, ">= 0.5x"],
    ["postgres processing / pg-boss", ratio(postgres?.process, pgboss?.process), (v) => v >= 5, ">= 5x"],
    ["postgres wake p50 from another process, ms", postgres?.remoteLatency?.[0], (v) => v < 10, "< 10 ms"],
    ["postgres 2 processes / 1", postgres?.scaling, (v) => v >= 1.6, ">= 1.6x"],
    ["sqlite processing / fs store", ratio(sqlite?.process, rows.fs?.process), () => true, "(info)"],
    ["postgres processing / fs store", ratio(postgres?.process, rows.fs?.process), () => true, "(info)"],
  ];
  console.log("\nratios (target):");
  for (const [label, value, ok, target] of checks) {
    if (value === undefined) continue;
    console.log(`  ${label}: ${fmt(value, 2)} ${target} ${target === "(info)" ? "" : ok(value) ? "ok" : "MISS"}`);
  }
}

await main();
process.exit(0);
