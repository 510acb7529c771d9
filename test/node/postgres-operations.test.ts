/**
 * The operations on PostgresJobQueue beyond the conformance suite: a claim of a queue while
 * another is paused still walks jobs_ready and jobs_leases (the pause is a primary-key lookup in
 * the claim statement), and waitForJob resolves through the finish NOTIFY for a job another
 * process finished.
 */
import postgres from "postgres";
import { afterAll, afterEach, expect, test } from "vitest";
import { JobService, type JobQueue } from "../../src/core/index.ts";
import { PostgresJobQueue } from "../../src/drivers/postgres/index.ts";
import { makeJob } from "../../src/testing/index.ts";
import { claimPlan, testDatabaseUrl } from "../postgres/harness.ts";

const url = testDatabaseUrl((n) => process.env[n]);
const admin = postgres(url, { max: 2, onnotice: () => {} });
const open: JobQueue[] = [];
const schemas: string[] = [];
afterEach(async () => {
  for (const q of open.splice(0)) await q.close();
  for (const s of schemas.splice(0)) await admin.unsafe(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
});
afterAll(() => admin.end({ timeout: 5 }));

const freshSchema = () => {
  const s = `t_${crypto.randomUUID().replace(/-/g, "")}`;
  schemas.push(s);
  return s;
};
const queueOn = (schema: string, listen = true) => {
  const q = new PostgresJobQueue({ url, max: 4 }, { schema, listen });
  open.push(q);
  return q;
};

test("with a paused queue, a claim reads the pause by primary key and the jobs through jobs_ready and jobs_leases", async () => {
  const schema = freshSchema();
  const q = queueOn(schema);
  const jobs = Array.from({ length: 4_000 }, (_, i) => makeJob({ queueName: i % 2 ? "a" : "b", priority: i % 5, runAt: new Date(1_000 + i), createdAt: new Date(1_000) }));
  for (let i = 0; i < jobs.length; i += 500) await q.enqueue(jobs.slice(i, i + 500));
  expect(await q.setPaused("a", true, 5_000)).toBe(true);
  expect(await q.claim({ queues: ["a"], limit: 5, leaseMs: 60_000, workerId: "w", now: 10_000 })).toEqual([]);
  expect((await q.claim({ queues: ["a", "b"], limit: 5, leaseMs: 60_000, workerId: "w", now: 10_000 })).map((c) => c.job.queueName)).toEqual(["b", "b", "b", "b", "b"]);
  expect(await q.nextWakeAt(["a"], 10_000)).toBe(null);
  await admin.unsafe(`ANALYZE "${schema}".jobs`);
  const plan = await claimPlan(admin, schema, "a");
  expect(plan).toMatch(/paused_queues_pkey/);
  expect(plan).toMatch(/jobs_ready/);
  expect(plan).toMatch(/jobs_leases/);
  expect(plan).not.toMatch(/Seq Scan on jobs/);
});

test("waitForJob resolves through the finish NOTIFY when another process completes the job, and a cancel there is seen by the holder's renewal", async () => {
  const schema = freshSchema();
  const here = queueOn(schema);
  const there = queueOn(schema, false);
  await Promise.all([here.ready(), there.ready()]);
  const service = new JobService({ queue: here });
  const job = makeJob({ runAt: new Date(0) });
  const other = makeJob({ runAt: new Date(0) });
  await here.enqueue([job, other]);
  const waiting = service.waitForJob(job.id, { timeoutMs: 20_000 });
  const claimed = await there.claim({ queues: ["default"], limit: 2, leaseMs: 60_000, workerId: "w", now: Date.now() });
  const mine = claimed.find((c) => c.jobId === job.id)!;
  const theirs = claimed.find((c) => c.jobId === other.id)!;
  // The waiter's first read saw RUNNING; with a watch, JobService rereads only on a change or
  // after 30 s, so only the NOTIFY can bring the result before the 20 s timeout.
  await new Promise((r) => setTimeout(r, 100));
  expect(await there.complete(mine, { n: 7 }, Date.now())).toBe(true);
  const done = await waiting;
  expect(done.status).toBe("completed");
  expect(done.result).toEqual({ n: 7 });
  expect(await service.cancelJob(other.id)).toBe(true);
  expect(await there.extendLease(theirs, 60_000, Date.now())).toBe("cancelled");
  expect(await there.fail(theirs, "late", { status: "failed" }, Date.now())).toBe(false);
  expect((await there.get(other.id))?.status).toBe("cancelled");
});
