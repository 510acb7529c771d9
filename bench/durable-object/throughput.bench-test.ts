/**
 * Jobs/s through enqueue -> claim -> complete in one JobQueueDurableObject, against a raw
 * `ctx.storage.sql.exec` insert/update/update loop in the same object, plus SQL statements per job.
 *
 * Workers freeze the clock while code runs, so each run is one call into the object and is timed
 * from outside it (the clock moves across the call's I/O); both sides pay that call once.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { expect, test } from "vitest";
import type { Job } from "../../src/core/index.ts";
import type { JobQueueDurableObject } from "../../runtimes/cloudflare/durable-object.ts";

const JOBS = Number(globalThis.process?.env?.BENCH_JOBS ?? 2_000);
const ROUNDS = 5;
const T = Date.UTC(2100, 0, 1); // far future: the object's alarm never fires during the bench

function job(i: number): Job {
  return {
    id: crypto.randomUUID(), queueName: "bench", jobType: "bench.job", payload: { i, to: "user@example.com" }, priority: 0,
    maxRetries: 3, retryCount: 0, scheduledAt: null, startedAt: null, completedAt: null, failedAt: null, status: "pending",
    errorMessage: null, createdBy: null, createdAt: new Date(T), metadata: {}, idempotencyKey: null, result: null,
    runAt: new Date(T), attempts: 0, timeoutMs: null, progress: null,
  };
}

type Side = (o: JobQueueDurableObject, state: DurableObjectState) => number;

/** The SDK path: batch enqueue, then claims of `claimBatch` jobs, each completed by its lease. */
const portico = (enqueueBatch: number, claimBatch: number): Side => (o) => {
  const before = o.store.counter.statements;
  for (let i = 0; i < JOBS; i += enqueueBatch) o.store.enqueue(Array.from({ length: Math.min(enqueueBatch, JOBS - i) }, (_, k) => job(i + k)));
  let done = 0;
  while (done < JOBS) {
    const claimed = o.store.claim({ queues: ["bench"], limit: claimBatch, leaseMs: 30_000, workerId: "bench", now: T });
    if (claimed.length === 0) throw new Error("bench: ran out of jobs");
    for (const c of claimed) o.store.complete(c, { ok: true }, T + 1, { maxCount: JOBS, maxAgeMs: 1e12 });
    done += claimed.length;
  }
  return o.store.counter.statements - before;
};

/** The floor: one INSERT, one UPDATE to running and one UPDATE to completed per job, no indexes beyond the key. */
const raw: Side = (_o, state) => {
  const sql = state.storage.sql;
  sql.exec("CREATE TABLE IF NOT EXISTS raw_jobs (id TEXT PRIMARY KEY, status TEXT NOT NULL, payload TEXT NOT NULL, result TEXT)");
  for (let i = 0; i < JOBS; i++) {
    const id = crypto.randomUUID();
    sql.exec("INSERT INTO raw_jobs (id, status, payload) VALUES (?, 'pending', ?)", id, JSON.stringify({ i, to: "user@example.com" }));
    sql.exec("UPDATE raw_jobs SET status = 'running' WHERE id = ?", id);
    sql.exec("UPDATE raw_jobs SET status = 'completed', result = ? WHERE id = ?", JSON.stringify({ ok: true }), id);
  }
  return JOBS * 3;
};

async function timed(name: string, side: Side): Promise<{ ms: number; statements: number }> {
  const stub = env.JOB_QUEUE.get(env.JOB_QUEUE.idFromName(name));
  const t0 = Date.now();
  const statements = await runInDurableObject(stub, side);
  return { ms: Math.max(1, Date.now() - t0), statements };
}

test("durable-object throughput vs a raw SQL loop", async () => {
  const sides: [string, Side][] = [
    ["raw sql.exec insert/update/update", raw],
    ["portico, enqueue 1 / claim 1", portico(1, 1)],
    ["portico, enqueue 100 / claim 10", portico(100, 10)],
  ];
  const totals = new Map(sides.map(([n]) => [n, { ms: 0, statements: 0 }]));
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate the order each round; every run gets a fresh object so table sizes match.
    for (let k = 0; k < sides.length; k++) {
      const [name, side] = sides[(k + round) % sides.length]!;
      const r = await timed(`bench-${round}-${k}-${crypto.randomUUID()}`, side);
      const t = totals.get(name)!;
      t.ms += r.ms;
      t.statements += r.statements;
    }
  }
  const rawRate = (JOBS * ROUNDS) / (totals.get(sides[0]![0])!.ms / 1000);
  const lines = ["| path | jobs/s | vs raw | SQL statements per job |", "|---|---:|---:|---:|"];
  const ratios: number[] = [];
  for (const [name] of sides) {
    const t = totals.get(name)!;
    const rate = (JOBS * ROUNDS) / (t.ms / 1000);
    ratios.push(rate / rawRate);
    lines.push(`| ${name} | ${Math.round(rate).toLocaleString("en-US")} | ${(rate / rawRate).toFixed(2)}x | ${(t.statements / (JOBS * ROUNDS)).toFixed(2)} |`);
  }
  console.log(`\n${JOBS} jobs x ${ROUNDS} rounds per path, one object per run\n${lines.join("\n")}\n`);
  // The statement budget is exact, not a timing: three per job at most, amortized.
  for (const [name] of sides.slice(1)) expect(totals.get(name)!.statements / (JOBS * ROUNDS)).toBeLessThanOrEqual(3);
  expect(ratios.every((r) => r > 0)).toBe(true);
});
