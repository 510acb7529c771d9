/**
 * PostgreSQL server restarts under load (npm run bench:pg-restarts): 3 in-process WorkerManagers
 * (concurrency 8) drain JOBS jobs on a cluster of the bench's own while it is restarted RESTARTS
 * times. Prints how long each restart took against the same server restarted idle (the baseline,
 * measured first in the same run), the longest time any store call stayed pending, and whether
 * every job completed. With postgres 3.4.9's stale write timer and no client replacement, restarts
 * took 30 s and calls stayed pending 60 to 95 s (docs/postgres.md).
 *   BENCH_JOBS=60000 BENCH_RESTARTS=10
 */
import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import { JobService, WorkerManager, silentLogger, type JobQueue } from "../src/core/index.ts";
import { PostgresJobQueue } from "../src/drivers/postgres/index.ts";

const run = promisify(execFile);
const JOBS = Number(process.env.BENCH_JOBS ?? 60_000);
const RESTARTS = Number(process.env.BENCH_RESTARTS ?? 10);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const out = execFileSync("bash", ["scripts/pg-cluster.sh", "start"], { encoding: "utf8" });
const dir = /dir=(\S+)/.exec(out)![1]!;
const url = /url=(\S+)/.exec(out)![1]!;
const restart = async () => {
  const t = performance.now();
  await run("bash", ["scripts/pg-cluster.sh", "restart", dir]);
  return performance.now() - t;
};

/** Every pending call of `queue`, by start time, so the longest wait can be read at any moment. */
const pending = new Set<number>();
let longest = 0;
function tracked(queue: JobQueue): JobQueue {
  return new Proxy(queue, {
    get(target, key) {
      const value = Reflect.get(target, key, target);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        const result = value.apply(target, args);
        if (!(result instanceof Promise)) return result;
        const started = performance.now();
        pending.add(started);
        return result.finally(() => {
          pending.delete(started);
          longest = Math.max(longest, performance.now() - started);
        });
      };
    },
  });
}

try {
  const idle: number[] = [];
  for (let i = 0; i < 3; i++) idle.push(await restart());

  const schema = "bench_restarts";
  const admin = new PostgresJobQueue({ url }, { schema, listen: false, retention: { maxCount: JOBS } });
  const service = new JobService({ queue: admin });
  for (let i = 0; i < JOBS; i += 1_000) {
    await service.createJobs(Array.from({ length: Math.min(1_000, JOBS - i) }, (_, k) => ({ jobType: "x", payload: { n: i + k }, options: { maxRetries: 50 } })));
  }
  let done = 0;
  const workers = [0, 1, 2].map(() => {
    const queue = tracked(new PostgresJobQueue({ url }, { schema, retention: { maxCount: JOBS } }));
    const worker = new WorkerManager({
      queue,
      concurrency: 8,
      leaseMs: 4_000,
      backoff: { type: "fixed", baseMs: 5, jitter: false },
      logger: silentLogger,
      handlers: [{ jobType: "x", handle: async () => ({ success: true }) }],
    });
    worker.addEventListener("job:completed", () => done++);
    return { queue, worker };
  });
  for (const { worker } of workers) await worker.start();
  const loaded: number[] = [];
  for (let r = 0; r < RESTARTS && done < JOBS; r++) {
    await new Promise((resolve) => setTimeout(resolve, 500 + Math.random() * 1_000));
    loaded.push(await restart());
  }
  const deadline = performance.now() + 120_000;
  while ((await admin.stats()).byStatus.completed < JOBS && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
  const completed = (await admin.stats()).byStatus.completed;
  for (const { worker, queue } of workers) {
    await worker.stop();
    await queue.close();
  }
  await admin.close();
  const still = [...pending].map((t) => performance.now() - t);
  console.log(`${RESTARTS} restarts under 3 workers x 8, ${JOBS} jobs (node ${process.versions.node})\n`);
  console.log("| | median | max |");
  console.log("|---|---:|---:|");
  console.log(`| restart, idle server (baseline), ms | ${median(idle).toFixed(0)} | ${Math.max(...idle).toFixed(0)} |`);
  console.log(`| restart under load, ms | ${median(loaded).toFixed(0)} | ${Math.max(...loaded).toFixed(0)} |`);
  console.log(`\nrestart under load / idle: ${(median(loaded) / median(idle)).toFixed(2)}x (median)`);
  console.log(`longest store call: ${(Math.max(longest, ...still) / 1000).toFixed(1)} s; completed ${completed} of ${JOBS}`);
} finally {
  execFileSync("bash", ["scripts/pg-cluster.sh", "stop", dir], { stdio: "inherit" });
}
