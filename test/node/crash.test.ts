/**
 * Crash and signal behaviour of portico-jobs/node on its default SQLite store, with real
 * processes: a server killed with SIGKILL mid-job loses nothing (a new process completes the job
 * once its lease expires), SIGTERM lets the running job finish, and two servers on one store
 * share its jobs, each run once.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterEach, expect, test } from "vitest";
import { JobStatus, silentLogger, type JobHandler } from "../../src/core/index.ts";
import { SqliteJobQueue } from "../../src/drivers/sqlite/index.ts";
import { openSqliteDatabase, serve } from "../../runtimes/node/index.ts";

const FIXTURE = join(import.meta.dirname, "../runtimes/fixtures/crash-child.ts");
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

interface Child {
  proc: ChildProcess;
  /** Resolves with the first stdout event of this name. */
  next(event: string): Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startChild(storeDir: string, holdMs: number): Child {
  const proc = spawn(process.execPath, ["--import", "tsx", FIXTURE], {
    env: { ...process.env, STORE_DIR: storeDir, HOLD_MS: String(holdMs) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const waiting = new Map<string, (e: Record<string, unknown>) => void>();
  const seen = new Map<string, Record<string, unknown>>();
  createInterface({ input: proc.stdout! }).on("line", (line) => {
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(line);
    } catch {
      return;
    }
    const name = String(e.event);
    if (!seen.has(name)) seen.set(name, e);
    waiting.get(name)?.(e);
  });
  cleanups.push(async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
    await exited;
  });
  return {
    proc,
    exited,
    next: (event) =>
      seen.has(event)
        ? Promise.resolve(seen.get(event)!)
        : Promise.race([
            new Promise<Record<string, unknown>>((resolve) => waiting.set(event, resolve)),
            exited.then((x) => Promise.reject(new Error(`child exited (${JSON.stringify(x)}) before "${event}"`))),
          ]),
  };
}

async function tempStore(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "portico-crash-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function postJob(url: string): Promise<string> {
  const res = await fetch(`${url}/webhooks/jobs`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ job_type: "long", payload: { step: 1 } }),
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { job_id: string }).job_id;
}

test("a job held by a process killed with SIGKILL is completed by a new process on the same store", async () => {
  const dir = await tempStore();
  const child = startChild(dir, 600_000);
  const { url } = (await child.next("listening")) as { url: string };
  const jobId = await postJob(url);
  const started = await child.next("started");
  expect(started.id).toBe(jobId);
  child.proc.kill("SIGKILL");
  expect((await child.exited).signal).toBe("SIGKILL");

  // A new process: starts at once (no owner lock) and claims the job when its lease expires.
  const ran: string[] = [];
  const long: JobHandler = {
    jobType: "long",
    async handle(job) {
      ran.push(job.id);
      return { success: true, resultData: "finished by the successor" };
    },
  };
  const app = await serve({ handlers: [long], storeDir: dir, leaseMs: 1_000, handleSignals: false, logger: silentLogger, webhook: { logger: silentLogger } });
  cleanups.push(() => app.stop());
  const before = await app.jobService.getJob(jobId);
  expect(before?.status === JobStatus.RUNNING || before?.status === JobStatus.COMPLETED).toBe(true);
  await expect.poll(async () => (await app.jobService.getJob(jobId))?.status, { timeout: 20_000, interval: 50 }).toBe(JobStatus.COMPLETED);
  const done = await app.jobService.getJob(jobId);
  expect(done?.result).toBe("finished by the successor");
  expect(done?.attempts).toBe(2);
  expect(ran).toEqual([jobId]);
});

test("SIGTERM stops a serving process gracefully: the running job finishes and the store is released", async () => {
  const dir = await tempStore();
  const child = startChild(dir, 1_500);
  const { url, pid } = (await child.next("listening")) as { url: string; pid: number };
  const jobId = await postJob(url);
  await child.next("started");
  child.proc.kill("SIGTERM");
  expect(await child.exited).toEqual({ code: 0, signal: null });

  const app = await serve({ handlers: [], storeDir: dir, handleSignals: false, logger: silentLogger, webhook: false });
  cleanups.push(() => app.stop());
  const job = await app.jobService.getJob(jobId);
  expect(job?.status).toBe(JobStatus.COMPLETED);
  expect(job?.result).toBe(`finished by pid ${pid}`);
  expect(job?.attempts).toBe(1);
});

test("a second SIGTERM during the graceful stop exits at once, leaving the job to be recovered by lease", async () => {
  const dir = await tempStore();
  const child = startChild(dir, 600_000);
  const { url } = (await child.next("listening")) as { url: string };
  const jobId = await postJob(url);
  await child.next("started");
  child.proc.kill("SIGTERM");
  // The first signal starts a stop that waits for the job; the webhook then refuses new work.
  await expect
    .poll(async () => (await fetch(`${url}/webhooks/jobs`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })).status, { timeout: 10_000, interval: 20 })
    .toBe(503);
  child.proc.kill("SIGTERM");
  expect(await child.exited).toEqual({ code: 130, signal: null });

  const app = await serve({ handlers: [], storeDir: dir, handleSignals: false, logger: silentLogger, webhook: false });
  cleanups.push(() => app.stop());
  expect((await app.jobService.getJob(jobId))?.status).toBe(JobStatus.RUNNING);
});

test("two server processes on one store share its jobs: each job runs once, in one of them", async () => {
  const dir = await tempStore();
  const a = startChild(dir, 100);
  const b = startChild(dir, 100);
  const [{ url: urlA, pid: pidA }, { url: urlB, pid: pidB }] = (await Promise.all([a.next("listening"), b.next("listening")])) as [{ url: string; pid: number }, { url: string; pid: number }];
  // Half the jobs arrive at each server; either may run any of them.
  const ids = await Promise.all(Array.from({ length: 24 }, (_, i) => postJob(i % 2 ? urlA : urlB)));
  // Read through a connection of our own (a serve() here would claim jobs too).
  const database = await openSqliteDatabase(join(dir, "jobs.sqlite"));
  const queue = new SqliteJobQueue({ database });
  cleanups.push(async () => (await queue.close(), database.close()));
  await expect
    .poll(async () => (await queue.list({ status: JobStatus.COMPLETED, limit: 100 })).length, { timeout: 30_000, interval: 100 })
    .toBe(ids.length);
  const jobs = await Promise.all(ids.map((id) => queue.get(id)));
  expect(jobs.map((j) => j?.attempts)).toEqual(ids.map(() => 1));
  const byPid = new Set(jobs.map((j) => j?.result));
  expect([...byPid].every((r) => r === `finished by pid ${pidA}` || r === `finished by pid ${pidB}`)).toBe(true);
  // Both processes claimed work (each holds a job 100 ms and runs 4 at once: one alone would need 600 ms).
  expect(byPid.size).toBe(2);
});
