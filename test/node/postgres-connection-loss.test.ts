/**
 * A connection lost in the middle of one of PostgresJobQueue's transactions (the server restarts,
 * an operator terminates the backend). The `postgres` client (3.4.9) answers a failed statement in
 * `sql.begin()` by sending ROLLBACK on the connection that just closed, which throws an uncaught
 * TypeError from a timer and ends the process. Found by the chaos test that restarts the server:
 * every worker process died and the run stalled. The flow-controlled enqueue is a transaction (the
 * case that crashed); the claim and the lease renewal, one statement each since schema version 5,
 * are checked the same way. Each call is caught with a statement in flight: its backend is made to
 * wait on a lock, then terminated.
 */
import postgres from "postgres";
import { afterAll, afterEach, beforeAll, expect, test } from "vitest";
import { JobStatus, StorageError, type Job } from "../../src/core/index.ts";
import { PostgresJobQueue } from "../../src/drivers/postgres/index.ts";
import { BASE_TIME, makeJob } from "../../src/testing/index.ts";
import { testDatabaseUrl } from "../postgres/harness.ts";

const url = testDatabaseUrl((name) => process.env[name]);
const admin = postgres(url, { max: 2, onnotice: () => {} });
const uncaught: unknown[] = [];
const onUncaught = (error: unknown) => uncaught.push(error);
beforeAll(() => {
  process.on("uncaughtException", onUncaught);
});
afterAll(async () => {
  process.off("uncaughtException", onUncaught);
  await admin.end();
});

const queues: { queue: PostgresJobQueue; schema: string }[] = [];
afterEach(async () => {
  for (const { queue, schema } of queues.splice(0)) {
    await queue.close();
    await admin.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  }
});

async function openQueue(): Promise<{ queue: PostgresJobQueue; schema: string }> {
  const schema = `loss_${crypto.randomUUID().replace(/-/g, "")}`;
  const queue = new PostgresJobQueue({ url, max: 3 }, { schema, listen: false, leaseClock: "caller" });
  await queue.ready();
  queues.push({ queue, schema });
  return { queue, schema };
}

/**
 * Runs `op` while another session holds `lockSql` (a lock `op`'s transaction needs), waits until
 * `op`'s backend waits on it, terminates that backend, and returns how `op` settled.
 */
async function loseConnectionDuring(schema: string, lockSql: string, op: () => Promise<unknown>): Promise<unknown> {
  const holder = await admin.reserve();
  try {
    await holder.unsafe("BEGIN");
    await holder.unsafe(lockSql);
    const outcome = op().then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    let pid: number | undefined;
    for (let i = 0; i < 200 && pid === undefined; i++) {
      const rows = await admin<{ pid: number }[]>`
        SELECT pid FROM pg_stat_activity
        WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid() AND query LIKE ${"%" + schema + "%"}`;
      pid = rows[0]?.pid;
      if (pid === undefined) await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(pid, "the operation's backend never waited on the lock").toBeDefined();
    await admin`SELECT pg_terminate_backend(${pid!})`;
    const settled = await outcome;
    // The crash came from a timer a tick after the rejection; give it room to happen.
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setTimeout(resolve, 50));
    return settled;
  } finally {
    await holder.unsafe("ROLLBACK").catch(() => {});
    holder.release();
  }
}

function lossJob(overrides: Partial<Job> = {}): Job {
  return makeJob({ jobType: "loss", payload: { n: 1 }, ...overrides });
}

test("a claim whose connection is lost mid-transaction rejects with a StorageError; the process lives and the next claim works", async () => {
  const { queue, schema } = await openQueue();
  await queue.enqueue([lossJob()]);
  const settled = await loseConnectionDuring(schema, `LOCK TABLE "${schema}".jobs IN ACCESS EXCLUSIVE MODE`, () =>
    queue.claim({ queues: ["default"], limit: 1, leaseMs: 30_000, workerId: "w", now: BASE_TIME }),
  );
  expect((settled as { error?: unknown }).error).toBeInstanceOf(StorageError);
  expect(uncaught).toEqual([]);
  const claimed = await queue.claim({ queues: ["default"], limit: 1, leaseMs: 30_000, workerId: "w", now: BASE_TIME });
  expect(claimed).toHaveLength(1);
});

test("a lease renewal whose connection is lost mid-transaction rejects with a StorageError; the lease still renews afterwards", async () => {
  const { queue, schema } = await openQueue();
  await queue.enqueue([lossJob()]);
  const [claim] = await queue.claim({ queues: ["default"], limit: 1, leaseMs: 30_000, workerId: "w", now: BASE_TIME });
  const settled = await loseConnectionDuring(schema, `LOCK TABLE "${schema}".jobs IN ACCESS EXCLUSIVE MODE`, () =>
    queue.extendLease(claim!, 30_000, BASE_TIME),
  );
  expect((settled as { error?: unknown }).error).toBeInstanceOf(StorageError);
  expect(uncaught).toEqual([]);
  expect(await queue.extendLease(claim!, 30_000, BASE_TIME)).toBe(true);
});

test("a flow-controlled enqueue whose connection is lost mid-transaction stores nothing and rejects; a retry stores the job once", async () => {
  const { queue, schema } = await openQueue();
  const job = lossJob({ concurrencyKey: "k", concurrencyLimit: 1 });
  const settled = await loseConnectionDuring(schema, `LOCK TABLE "${schema}".flow_used IN ACCESS EXCLUSIVE MODE`, () => queue.enqueue([job]));
  expect((settled as { error?: unknown }).error).toBeInstanceOf(StorageError);
  expect(uncaught).toEqual([]);
  expect(await queue.get(job.id)).toBeNull();
  const [result] = await queue.enqueue([job]);
  expect(result!.created).toBe(true);
  expect((await queue.get(job.id))!.status).toBe(JobStatus.PENDING);
});
