/**
 * SQLite under chaos, with real processes on one file: 3 workers x concurrency 8 drain 10,000
 * jobs whose handlers throw at random, while one worker is SIGKILLed and restarted twice. None
 * is lost, each is recorded completed once, and a job ran to success twice only when the killed
 * process had it in flight.
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, test } from "vitest";
import { chaosFailures, runChaos } from "../chaos/harness.ts";

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

test("sqlite chaos: 3 processes x 8, 10,000 jobs, random throws, one process SIGKILLed and restarted twice", async () => {
  const dir = await mkdtemp(join(tmpdir(), "portico-chaos-sqlite-"));
  dirs.push(dir);
  await mkdir(join(dir, "logs"));
  const options = { jobs: 10_000, processes: 3, concurrency: 8 };
  const report = await runChaos({
    ...options,
    store: { kind: "sqlite", path: join(dir, "jobs.sqlite") },
    logDir: join(dir, "logs"),
    leaseMs: 4_000,
    throwRate: 0.15,
    killAt: [2_500, 6_000],
  });
  expect(report.killed).toHaveLength(2);
  expect(chaosFailures(report, { jobs: options.jobs, concurrency: options.concurrency })).toEqual([]);
  expect(report.byStatus.completed).toBe(options.jobs);
  // The random throws happened (retries ran), so the run exercised failures, not only successes.
  expect(report.starts).toBeGreaterThan(options.jobs * 1.1);
}, 180_000);

test("a worker that dies by itself fails the run at once, by name, instead of stalling to the deadline", async () => {
  const dir = await mkdtemp(join(tmpdir(), "portico-chaos-sqlite-"));
  dirs.push(dir);
  await mkdir(join(dir, "logs"));
  const run = runChaos({
    jobs: 2_000,
    processes: 2,
    concurrency: 4,
    store: { kind: "sqlite", path: join(dir, "jobs.sqlite") },
    logDir: join(dir, "logs"),
    leaseMs: 4_000,
    throwRate: 0,
    killAt: [],
    workerEnv: { CHAOS_EXIT_AFTER: "50" },
    timeoutMs: 60_000,
  });
  await expect(run).rejects.toThrow(/chaos worker p\d-\d exited by itself \(code 3/);
}, 90_000);
