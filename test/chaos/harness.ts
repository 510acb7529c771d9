/**
 * The multi-process chaos run shared by the per-engine tests: real worker processes
 * (test/chaos/worker.ts) drain one store while one of them is SIGKILLed and restarted, and
 * optional actions (a database restart) fire at chosen points. Afterwards it reads the store and
 * the workers' event logs and reports what a test asserts on: every job completed exactly once in
 * the store, and which jobs ran to success more than once, and in which process.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { JobService, JobStatus, type JobQueue } from "../../src/core/index.ts";
import { openChaosStore, type ChaosStore } from "./stores.ts";

const WORKER = join(import.meta.dirname, "worker.ts");

export interface ChaosOptions {
  store: ChaosStore;
  /** Directory for the workers' event logs (one file per process instance). */
  logDir: string;
  jobs: number;
  processes: number;
  concurrency: number;
  leaseMs: number;
  throwRate: number;
  /** Recorded completions (summed over processes) at which process 0 is SIGKILLed and started again. */
  killAt: number[];
  /** Other actions at recorded completions, e.g. restarting the database. */
  actions?: { at: number; run: () => Promise<void> }[];
  /** More environment for the worker processes (CHAOS_EXIT_AFTER=n makes each exit after n completions: the harness's own test). */
  workerEnv?: Record<string, string>;
  /** Longest wait for the whole run (default 150 s: a few tens of seconds alone, much more on a loaded machine). */
  timeoutMs?: number;
}

export interface ChaosReport {
  /** Store status counts at the end. */
  byStatus: Record<string, number>;
  /** Jobs the store holds, by id, with their status. */
  statuses: Map<string, string>;
  /** The instances that were SIGKILLed. */
  killed: string[];
  /** Per killed instance: the jobs it had started and not seen finish (no D or R line after its last S). */
  inFlightAtKill: Map<string, Set<string>>;
  /** Per job: the instances whose handler returned success for it ("C" lines), in order. */
  successes: Map<string, string[]>;
  /** Per job: how many completions a worker saw recorded by the store ("D" lines). */
  recorded: Map<string, number>;
  /** Total handler starts ("S" lines): more than `jobs` because of throws and kills. */
  starts: number;
}

interface Instance {
  name: string;
  proc: ChildProcess;
  done: number;
  exited: Promise<void>;
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const { queue, close } = await openChaosStore(options.store);
  const instances: Instance[] = [];
  try {
    await enqueue(queue, options.jobs);
    let counter = 0;
    const start = (slot: number): Instance => {
      const name = `p${slot}-${counter++}`;
      const proc = spawn(process.execPath, ["--import", "tsx", WORKER], {
        env: {
          ...process.env,
          CHAOS_STORE: JSON.stringify(options.store),
          CHAOS_LOG: join(options.logDir, `${name}.log`),
          CHAOS_CONCURRENCY: String(options.concurrency),
          CHAOS_LEASE_MS: String(options.leaseMs),
          CHAOS_THROW_RATE: String(options.throwRate),
          ...options.workerEnv,
        },
        stdio: ["ignore", "pipe", "inherit"],
      });
      const instance: Instance = { name, proc, done: 0, exited: new Promise((resolve) => proc.once("exit", () => resolve())) };
      createInterface({ input: proc.stdout! }).on("line", (line) => {
        try {
          const event = JSON.parse(line) as { event: string; done?: number };
          if (event.event === "progress") instance.done = event.done!;
        } catch {
          // not one of ours
        }
      });
      instances.push(instance);
      return instance;
    };
    const live = Array.from({ length: options.processes }, (_, slot) => start(slot));

    const total = () => instances.reduce((sum, i) => sum + i.done, 0);
    const killed: string[] = [];
    const pending = [
      ...options.killAt.map((at) => ({
        at,
        run: async () => {
          const victim = live[0]!;
          victim.proc.kill("SIGKILL");
          await victim.exited;
          killed.push(victim.name);
          live[0] = start(0);
        },
      })),
      ...(options.actions ?? []),
    ].sort((a, b) => a.at - b.at);

    const deadline = Date.now() + (options.timeoutMs ?? 150_000);
    for (;;) {
      while (pending.length && total() >= pending[0]!.at) await pending.shift()!.run();
      // A worker that dies on its own (an uncaught error in it or in its database client) fails the
      // run at once, by name, instead of leaving it to stall until the deadline.
      const died = live.find((i) => i.proc.exitCode !== null || i.proc.signalCode !== null);
      if (died) throw new Error(`chaos worker ${died.name} exited by itself (code ${died.proc.exitCode}, signal ${died.proc.signalCode}); its stderr is above`);
      // A database restart makes this read fail for a moment; the run goes on.
      const stats = await queue.stats().catch(() => null);
      if (process.env.CHAOS_DEBUG) console.error("PROGRESS", new Date().toISOString().slice(11, 23), total(), JSON.stringify(stats?.byStatus));
      if (stats && stats.byStatus[JobStatus.COMPLETED] >= options.jobs) break;
      if (Date.now() > deadline) {
        throw new Error(`chaos run timed out: ${JSON.stringify(stats?.byStatus)}, ${total()} completions reported, ${pending.length} actions not reached`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    for (const instance of live) instance.proc.kill("SIGTERM");
    await Promise.all(live.map((i) => i.exited));

    const statuses = new Map<string, string>();
    for (const job of await queue.list({ limit: options.jobs * 2 })) statuses.set(job.id, job.status);
    const byStatus = (await queue.stats()).byStatus;
    return { byStatus, statuses, killed, ...(await readLogs(options.logDir, killed)) };
  } finally {
    for (const instance of instances) if (instance.proc.exitCode === null && instance.proc.signalCode === null) instance.proc.kill("SIGKILL");
    await Promise.all(instances.map((i) => i.exited));
    await close();
  }
}

async function enqueue(queue: JobQueue, jobs: number): Promise<void> {
  const service = new JobService({ queue });
  for (let i = 0; i < jobs; i += 500) {
    const batch = [];
    for (let j = i; j < Math.min(jobs, i + 500); j++) batch.push({ jobType: "chaos", payload: { n: j }, options: { maxRetries: 25 } });
    await service.createJobs(batch);
  }
}

async function readLogs(dir: string, killed: string[]) {
  const successes = new Map<string, string[]>();
  const recorded = new Map<string, number>();
  const inFlightAtKill = new Map<string, Set<string>>();
  let starts = 0;
  for (const file of (await readdir(dir)).sort()) {
    const name = file.replace(/\.log$/, "");
    const open = new Set<string>();
    for (const line of (await readFile(join(dir, file), "utf8")).split("\n")) {
      const [type, id] = line.split(" ");
      if (!id) continue;
      if (type === "S") {
        starts++;
        open.add(id);
      } else if (type === "C") {
        successes.set(id, [...(successes.get(id) ?? []), name]);
      } else if (type === "D" || type === "R") {
        open.delete(id);
        if (type === "D") recorded.set(id, (recorded.get(id) ?? 0) + 1);
      }
    }
    if (killed.includes(name)) inFlightAtKill.set(name, open);
  }
  return { successes, recorded, inFlightAtKill, starts };
}

/**
 * The checks every engine's chaos test makes, as a list of failures (empty when all hold):
 * none lost, each recorded once, and a job ran to success twice only if a killed process had
 * it in flight (never more of them than that process's concurrency).
 */
export function chaosFailures(report: ChaosReport, options: { jobs: number; concurrency: number; allowAnyDuplicates?: boolean }): string[] {
  const failures: string[] = [];
  if (report.statuses.size !== options.jobs) failures.push(`the store holds ${report.statuses.size} jobs, expected ${options.jobs}`);
  const notDone = [...report.statuses].filter(([, status]) => status !== JobStatus.COMPLETED);
  if (notDone.length) failures.push(`${notDone.length} jobs not completed, e.g. ${JSON.stringify(notDone.slice(0, 3))}`);
  const twiceRecorded = [...report.recorded].filter(([, n]) => n > 1);
  if (twiceRecorded.length) failures.push(`${twiceRecorded.length} jobs completed twice in the store, e.g. ${twiceRecorded[0]![0]}`);
  for (const id of report.statuses.keys()) {
    if (!report.successes.has(id)) failures.push(`job ${id} is completed but no handler returned success for it`);
  }
  if (options.allowAnyDuplicates) return failures;
  for (const [id, runs] of report.successes) {
    if (runs.length < 2) continue;
    const fromKilled = runs.filter((name) => report.inFlightAtKill.get(name)?.has(id));
    // Every success but the last one must come from a process killed with the job in flight.
    if (fromKilled.length < runs.length - 1) failures.push(`job ${id} ran to success in ${runs.join(", ")}, but only ${fromKilled.join(", ") || "none"} were killed with it in flight`);
  }
  for (const [name, open] of report.inFlightAtKill) {
    if (open.size > options.concurrency) failures.push(`${name} had ${open.size} jobs in flight at its kill, more than its concurrency ${options.concurrency}`);
  }
  return failures;
}
