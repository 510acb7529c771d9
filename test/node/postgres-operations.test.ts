/**
 * The operations on PostgresJobQueue beyond the conformance suite: a claim of a queue while
 * another is paused still walks jobs_ready and jobs_leases (the pause is a primary-key lookup in
 * the claim statement), and waitForJob resolves through the finish NOTIFY for a job another
 * process finished.
 */
import postgres from "postgres";
import { afterAll, afterEach, expect, test } from "vitest";
import { JobService, WorkerManager, silentLogger, type JobQueue } from "../../src/core/index.ts";
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
/** Sequential scans of the schema's jobs table so far, once `sql` (a one-connection client) has flushed its statistics. */
async function seqScansOf(sql: postgres.Sql, schema: string): Promise<number> {
  await sql`SELECT pg_stat_force_next_flush()`;
  await sql`SELECT 1`;
  const [row] = await admin.begin(async (tx) => {
    await tx`SELECT pg_stat_clear_snapshot()`;
    return tx<{ n: number }[]>`SELECT seq_scan::int AS n FROM pg_stat_user_tables WHERE schemaname = ${schema} AND relname = 'jobs'`;
  });
  return row!.n;
}
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

test("pages and claims stay index walks after the table grows 100-fold under a long-lived connection (no plan cached at 1,000 rows)", async () => {
  const schema = freshSchema();
  // One connection of the test's own, so its statistics can be flushed on demand.
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  const q = new PostgresJobQueue({ sql }, { schema, listen: false, retention: { maxCount: 500_000 } });
  try {
    const service = new JobService({ queue: q });
    const add = async (n: number) => {
      for (let i = 0; i < n; i += 1_000) await service.createJobs(Array.from({ length: Math.min(1_000, n - i) }, (_, k) => ({ jobType: "t", payload: { k } })));
    };
    await add(1_000);
    await admin.unsafe(`ALTER TABLE "${schema}".jobs SET (autovacuum_enabled = false)`);
    const claimAndComplete = async () => {
      const [c] = await q.claim({ queues: ["default"], limit: 1, leaseMs: 60_000, workerId: "w", now: Date.now() });
      expect(await q.complete(c!, { ok: true }, Date.now())).toBe(true);
    };
    for (let i = 0; i < 20; i++) {
      await q.listPage({ limit: 50 });
      await claimAndComplete();
      await q.nextWakeAt(["default"], Date.now());
    }
    await add(99_000);
    const seqScans = () => seqScansOf(sql, schema);
    const before = await seqScans();
    for (let i = 0; i < 10; i++) {
      expect((await q.listPage({ limit: 50 })).jobs).toHaveLength(50);
      await claimAndComplete();
      await q.nextWakeAt(["default"], Date.now());
    }
    // A plan made for 1,000 rows and kept would read and sort the whole table on each call.
    expect((await seqScans()) - before).toBe(0);
  } finally {
    await q.close();
    await sql.end();
  }
}, 120_000);

test("a drain of 10,000 jobs at concurrency 50 on a table never analyzed reads no job by a sequential scan (batched completes find their rows by key)", async () => {
  const schema = freshSchema();
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  // Retention far away: its counts are not what this test looks at.
  const q = new PostgresJobQueue({ sql }, { schema, listen: false, retention: { maxCount: 500_000 } });
  try {
    const service = new JobService({ queue: q });
    for (let i = 0; i < 10_000; i += 1_000) await service.createJobs(Array.from({ length: 1_000 }, (_, k) => ({ jobType: "t", payload: { k } })));
    await admin.unsafe(`ALTER TABLE "${schema}".jobs SET (autovacuum_enabled = false)`);
    const seqScans = () => seqScansOf(sql, schema);
    const before = await seqScans();
    const worker = new WorkerManager({ queue: q, handlers: [{ jobType: "t", handle: async () => ({ success: true }) }], concurrency: 50, logger: silentLogger });
    let done = 0;
    const all = new Promise<void>((resolve) => worker.addEventListener("job:completed", () => ++done === 10_000 && resolve()));
    await worker.start();
    await all;
    await worker.stop();
    // Joined to the batch's JSON rows (which the planner sizes at 100), the table was read whole
    // by a hash join for each batch of completions: 300 and more scans for this drain.
    expect((await seqScans()) - before).toBe(0);
    expect((await q.stats()).byStatus.completed).toBe(10_000);
  } finally {
    await q.close();
    await sql.end();
  }
}, 120_000);
