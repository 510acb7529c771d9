/**
 * One worker process of the chaos tests: a WorkerManager on the store given in CHAOS_STORE (JSON)
 * whose handler throws at random (CHAOS_THROW_RATE). It appends one line per event to its own log
 * (CHAOS_LOG), written synchronously so a SIGKILL loses at most the event in progress:
 *   S <id>  the handler started        C <id>  the handler returned success
 *   D <id>  the store recorded the completion (job:completed)   R <id>  the failure, retrying
 * and prints {"event":"progress","done":n} lines on stdout as completions are recorded.
 * CHAOS_DEBUG=1 prints the worker's warnings and errors on stderr. CHAOS_EXIT_AFTER=n exits (code 3)
 * after n recorded completions, as a worker that dies by itself would.
 */
import { appendFileSync } from "node:fs";
import { WorkerManager, silentLogger, type JobHandler } from "../../src/core/index.ts";
import { openChaosStore, type ChaosStore } from "./stores.ts";

const store = JSON.parse(process.env.CHAOS_STORE!) as ChaosStore;
const logFile = process.env.CHAOS_LOG!;
const concurrency = Number(process.env.CHAOS_CONCURRENCY ?? 8);
const leaseMs = Number(process.env.CHAOS_LEASE_MS ?? 4000);
const throwRate = Number(process.env.CHAOS_THROW_RATE ?? 0.15);
const workMs = Number(process.env.CHAOS_WORK_MS ?? 1);
const exitAfter = Number(process.env.CHAOS_EXIT_AFTER ?? 0);

const record = (type: string, id: string) => appendFileSync(logFile, `${type} ${id}\n`);

const handler: JobHandler = {
  jobType: "chaos",
  async handle(job) {
    record("S", job.id);
    await new Promise((resolve) => setTimeout(resolve, Math.random() * workMs * 2));
    if (Math.random() < throwRate) throw new Error("random chaos failure");
    record("C", job.id);
    return { success: true };
  },
};

const { queue, close } = await openChaosStore(store);
const worker = new WorkerManager({
  queue,
  handlers: [handler],
  concurrency,
  leaseMs,
  // Retries come quickly so the run ends soon; enough of them that random throws never exhaust one.
  backoff: { type: "fixed", baseMs: 5, jitter: false },
  pollIntervalMs: 200,
  logger: process.env.CHAOS_DEBUG ? { ...silentLogger, warn: (e: string, f?: object) => console.error("WARN", e, JSON.stringify(f)), error: (e: string, f?: object) => console.error("ERROR", e, f) } : silentLogger,
});
let done = 0;
let reported = 0;
worker.addEventListener("job:completed", (event) => {
  record("D", (event as unknown as { job: { id: string } }).job.id);
  done++;
  if (done === exitAfter) process.exit(3);
});
worker.addEventListener("job:retrying", (event) => record("R", (event as unknown as { job: { id: string } }).job.id));
setInterval(() => {
  if (done !== reported) console.log(JSON.stringify({ event: "progress", done: (reported = done) }));
}, 25);
process.on("SIGTERM", async () => {
  await worker.stop({ graceful: true, timeoutMs: 5_000 });
  await close();
  process.exit(0);
});
await worker.start();
console.log(JSON.stringify({ event: "ready", pid: process.pid }));
