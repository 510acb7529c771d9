/**
 * Crash and signal behaviour of portico-jobs/node on its default fs store, with real processes:
 * a server killed with SIGKILL mid-job loses nothing (a new process completes the job once the
 * dead owner's lock and the job's lease expire), and SIGTERM lets the running job finish.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterEach, expect, test } from "vitest";
import { JobStatus, silentLogger, type JobHandler } from "../../src/core/index.ts";
import { serve } from "../../runtimes/node/index.ts";

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

test("a job held by a process killed with SIGKILL is completed by a new process on the same fs store", async () => {
  const dir = await tempStore();
  const child = startChild(dir, 600_000);
  const { url } = (await child.next("listening")) as { url: string };
  const jobId = await postJob(url);
  const started = await child.next("started");
  expect(started.id).toBe(jobId);
  child.proc.kill("SIGKILL");
  expect((await child.exited).signal).toBe("SIGKILL");

  // A new process: waits for the dead owner's lock to expire, then for the job's lease.
  const ran: string[] = [];
  const long: JobHandler = {
    jobType: "long",
    async handle(job) {
      ran.push(job.id);
      return { success: true, resultData: "finished by the successor" };
    },
  };
  const app = await serve({ handlers: [long], storeDir: dir, leaseMs: 1_000, lockTtlMs: 1_000, lockWaitMs: 20_000, handleSignals: false, logger: silentLogger, webhook: { logger: silentLogger } });
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

  // The lock was released on exit: opening again does not wait (lockWaitMs 0) and finds the result.
  const app = await serve({ handlers: [], storeDir: dir, lockWaitMs: 0, handleSignals: false, logger: silentLogger, webhook: false });
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

  const app = await serve({ handlers: [], storeDir: dir, lockWaitMs: 20_000, lockTtlMs: 1_000, handleSignals: false, logger: silentLogger, webhook: false });
  cleanups.push(() => app.stop());
  expect((await app.jobService.getJob(jobId))?.status).toBe(JobStatus.RUNNING);
});
