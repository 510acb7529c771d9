/**
 * PostgresJobQueue's retention under concurrent completions: the count re-read and the prune are
 * async, so completions that cross a bound while one is in flight must not start their own (a
 * storm of count queries and competing DELETEs was most of the server's work in bench:servers).
 */
import postgres from "postgres";
import { afterAll, expect, test } from "vitest";
import { WorkerManager, silentLogger } from "../../src/core/index.ts";
import { PostgresJobQueue } from "../../src/drivers/postgres/index.ts";
import { makeJob } from "../../src/testing/index.ts";
import { testDatabaseUrl } from "../postgres/harness.ts";

const url = testDatabaseUrl((n) => process.env[n]);
const admin = postgres(url, { max: 1, onnotice: () => {} });
afterAll(() => admin.end({ timeout: 5 }));

test("concurrent completions past the retention bound run one count or prune at a time, and the table ends within its bound", async () => {
  const schema = `t_${crypto.randomUUID().replace(/-/g, "")}`;
  // The queue's statements as the client sends them: count the retention ones, and how many of
  // them are under way at once (sent and not yet answered).
  const retention = { count: 0, inFlight: 0, maxInFlight: 0 };
  const sql = postgres(url, { max: 6, onnotice: () => {}, fetch_types: false });
  const isRetention = (text: string) => /^\s*(DELETE FROM \S+ WHERE seq IN \(\(SELECT seq|SELECT \(SELECT count\(\*\))/.test(text);
  const unsafe = sql.unsafe.bind(sql);
  sql.unsafe = ((text: string, ...rest: unknown[]) => {
    const query = (unsafe as (t: string, ...r: unknown[]) => Promise<unknown>)(text, ...rest);
    if (!isRetention(text)) return query;
    retention.count++;
    retention.maxInFlight = Math.max(retention.maxInFlight, ++retention.inFlight);
    const settle = () => void retention.inFlight--;
    query.then(settle, settle);
    return query;
  }) as typeof sql.unsafe;
  const maxCount = 100;
  const queue = new PostgresJobQueue({ sql }, { schema, listen: false, retention: { maxCount, maxAgeMs: 3_600_000, idempotencyWindowMs: 3_600_000 } });
  try {
    const jobs = Array.from({ length: 1_500 }, () => makeJob({ runAt: new Date(0) }));
    for (let i = 0; i < jobs.length; i += 500) await queue.enqueue(jobs.slice(i, i + 500));
    const worker = new WorkerManager({ queue, handlers: [{ jobType: jobs[0]!.jobType, handle: async () => ({ success: true }) }], concurrency: 50, logger: silentLogger });
    let done = 0;
    const all = new Promise<void>((resolve) => worker.addEventListener("job:completed", () => ++done === jobs.length && resolve()));
    await worker.start();
    await all;
    await worker.stop();
    const before = retention.count;
    // One completion after the drain lets the last prune's figures settle, then the bound holds.
    await queue.enqueue([makeJob({ runAt: new Date(0), jobType: jobs[0]!.jobType })]);
    const [claim] = await queue.claim({ queues: ["default"], limit: 1, leaseMs: 60_000, workerId: "w", now: Date.now() });
    await queue.complete(claim!, { success: true }, Date.now());
    expect(retention.maxInFlight).toBe(1);
    // A re-read every tenth of the bound (10 finishes) and a prune with its re-read every other
    // one: at most about one statement per 5 finishes even when finishes come one by one (about 70
    // here; before the fix 1,667, more than one per finish).
    expect(before).toBeGreaterThan(0);
    expect(before).toBeLessThanOrEqual(jobs.length / 4);
    const [row] = await admin.unsafe(`SELECT count(*)::int AS n FROM "${schema}".jobs WHERE finished_at IS NOT NULL`);
    const n = Number(row?.n);
    expect(n).toBeLessThanOrEqual(maxCount + maxCount / 10 + 1);
  } finally {
    await queue.close();
    await sql.end({ timeout: 5 });
    await admin.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  }
});
