/**
 * The SQLite store inside a real object: every statement on the job path reads the jobs through an
 * index (checked with EXPLAIN QUERY PLAN on the statements the store actually ran), and an object
 * written by the previous schema (six indexes) is upgraded in place when the store starts.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { expect, test } from "vitest";
import type { Job } from "../../src/core/index.ts";
import { SqlJobStore, type SqlStorageHost } from "../../src/drivers/durable-object/index.ts";
import { BASE_TIME as T, makeJob } from "../../src/testing/conformance/fixtures.ts";

type Recorded = { sql: string; bindings: unknown[] };

const freshObject = () => env.JOB_QUEUE.get(env.JOB_QUEUE.idFromName(`sql-store-${crypto.randomUUID()}`));

/** A store over the object's own storage that records each statement it runs. */
function recordingStore(state: DurableObjectState, log: Recorded[]): SqlJobStore {
  const host: SqlStorageHost = {
    sql: {
      exec: (sql: string, ...bindings: unknown[]) => {
        log.push({ sql, bindings });
        return state.storage.sql.exec(sql, ...bindings);
      },
    },
    transactionSync: (fn) => state.storage.transactionSync(fn),
  };
  return new SqlJobStore(host);
}

function plan(state: DurableObjectState, { sql, bindings }: Recorded): string[] {
  return state.storage.sql
    .exec<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, ...bindings)
    .toArray()
    .map((r) => r.detail);
}

/** A plan line that reads the jobs table without an index (a scan of the whole queue). */
const fullScan = (line: string) => /^SCAN jobs\b/.test(line) && !/USING (COVERING )?INDEX|USING INTEGER PRIMARY KEY/.test(line);

test("claim, enqueue, lease calls and wake-ups read the jobs through an index, and a claim never sorts the queue", async () => {
  await runInDurableObject(freshObject(), (_o: unknown, state: DurableObjectState) => {
    const log: Recorded[] = [];
    const store = recordingStore(state, log);
    // A backlog in two queues, with priorities, delays and idempotency keys.
    const jobs: Job[] = [];
    for (let i = 0; i < 300; i++) {
      jobs.push(makeJob({ queueName: i % 2 ? "a" : "b", priority: i % 5, runAt: new Date(T + (i % 7) * 1000), idempotencyKey: i % 3 ? null : `k${i}` }));
    }
    log.length = 0;
    store.enqueue(jobs.slice(0, 200));
    store.enqueue([jobs[200]!]);
    store.enqueue(jobs.slice(201, 210).map((j) => ({ ...j, idempotencyKey: null })));
    const again = (j: Job) => ({ ...j, id: crypto.randomUUID() });
    expect(store.enqueue([again(jobs[0]!)])[0]!.created).toBe(false); // a repeated key
    expect(store.enqueue(jobs.slice(0, 4).map(again)).map((r) => r.created)).toEqual([false, true, true, false]); // in a batch
    const enqueues = log.splice(0);

    const [one] = store.claim({ queues: ["a"], limit: 1, leaseMs: 1_000, workerId: "w", now: T + 10_000 });
    const some = store.claim({ queues: ["a", "b"], limit: 5, leaseMs: 1_000, workerId: "w", now: T + 10_000 });
    store.claim({ queues: ["b"], limit: 1, leaseMs: 1_000, workerId: "w", now: T + 10_000 }, ["test.job"]);
    const plainClaims = log.splice(0);
    // Leases have run out: the claim also walks the leased half of the wake index.
    store.claim({ queues: ["a"], limit: 1, leaseMs: 1_000, workerId: "w", now: T + 20_000 });
    store.claim({ queues: ["a"], limit: 4, leaseMs: 1_000, workerId: "w", now: T + 20_000 });
    const leaseClaims = log.splice(0);

    expect(store.extendLease(some[0]!, 5_000, T + 20_000)).toBe(false); // reclaimed above
    store.complete(one!, { ok: true }, T + 20_001);
    store.fail(some[1]!, "x", { status: "retrying", retryAt: T + 30_000 }, T + 20_001);
    store.release(some[2]!);
    const leaseCalls = log.splice(0);

    expect(store.nextWakeAt(["a", "b"])).not.toBeNull();
    expect(store.nextWakeAt()).not.toBeNull();
    expect(store.earliestWake()?.queue).toMatch(/^[ab]$/);
    new SqlJobStore({ sql: { exec: (s: string, ...b: unknown[]) => (log.push({ sql: s, bindings: b }), state.storage.sql.exec(s, ...b)) }, transactionSync: (f) => f() });
    const wakeUps = log.splice(0).filter((r) => !r.sql.includes("CREATE TABLE") && !r.sql.includes("COUNT(*)"));

    for (const r of [...enqueues, ...plainClaims, ...leaseClaims, ...leaseCalls, ...wakeUps]) {
      const lines = plan(state, r);
      expect(lines.filter(fullScan), `${r.sql}\n${lines.join("\n")}`).toEqual([]);
    }
    for (const r of plainClaims) {
      const lines = plan(state, r);
      expect(lines.some((l) => l.includes("jobs_ready")), lines.join("\n")).toBe(true);
      expect(lines.filter((l) => l.includes("TEMP B-TREE")), lines.join("\n")).toEqual([]);
    }
    for (const r of leaseClaims.filter((l) => l.sql.startsWith("UPDATE"))) {
      const lines = plan(state, r);
      expect(lines.some((l) => l.includes("jobs_wakeups")), lines.join("\n")).toBe(true);
    }
    // Lease calls find the row by its primary key.
    for (const r of leaseCalls) expect(plan(state, r).join("\n")).toMatch(/USING INTEGER PRIMARY KEY/);
  });
});

test("an object written by the previous schema is upgraded in place: old indexes dropped, its jobs kept, claimable and completable", async () => {
  await runInDurableObject(freshObject(), (_o: unknown, state: DurableObjectState) => {
    const sql = state.storage.sql;
    // Rebuild the previous layout (the object already ran the new DDL when it started).
    sql.exec(`DROP INDEX jobs_wakeups;
      CREATE INDEX jobs_leases ON jobs (queue, wake_at) WHERE token IS NOT NULL;
      CREATE INDEX jobs_wake ON jobs (queue, wake_at) WHERE wake_at IS NOT NULL;
      CREATE INDEX jobs_alarm ON jobs (wake_at) WHERE wake_at IS NOT NULL;`);
    const insert = `INSERT INTO jobs (id, queue, job_type, payload, priority, max_retries, retry_count, status, created_at, metadata, result, run_at, attempts, token, wake_at, started_at)
      VALUES (?, 'default', 'test.job', ?, 0, 3, 0, ?, ?, '{"m":1}', 'null', ?, ?, ?, ?, ?)`;
    // As the previous version stored them: result 'null' text, a uuid.seq lease token.
    sql.exec(insert, "waiting", '{"w":1}', "pending", T, T, 0, null, T, null);
    sql.exec(insert, "running", '{"r":1}', "running", T, T, 1, "6f1c1f9e-1b1e-4c1e-9a4e-2f0f6f1c1f9e.2", T + 5_000, T);

    const store = new SqlJobStore(state.storage);
    const indexes = sql
      .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'jobs' AND name NOT LIKE 'sqlite_%' ORDER BY name")
      .toArray()
      .map((r) => r.name);
    expect(indexes).toEqual(["jobs_debounce", "jobs_finished_keyed", "jobs_finished_plain", "jobs_idem", "jobs_key_running", "jobs_parked", "jobs_ready_gated", "jobs_ready_plain", "jobs_wakeups"]);

    expect(store.get("waiting")).toMatchObject({ payload: { w: 1 }, metadata: { m: 1 }, result: null, status: "pending" });
    expect(store.nextWakeAt(["default"])).toBe(T);
    expect(store.nextWakeAt()).toBe(T);
    // The lease written before the upgrade is still honoured, and still expires.
    expect(store.complete({ jobId: "running", token: "6f1c1f9e-1b1e-4c1e-9a4e-2f0f6f1c1f9e.2" }, "done", T + 1)).toBe(true);
    expect(store.get("running")).toMatchObject({ status: "completed", result: "done" });
    const [claimed] = store.claim({ queues: ["default"], limit: 1, leaseMs: 1_000, workerId: "w", now: T });
    expect(claimed?.jobId).toBe("waiting");
    expect(claimed?.job).toMatchObject({ status: "running", attempts: 1, payload: { w: 1 } });
    expect(store.nextWakeAt(["default"])).toBe(T + 1_000);
  });
});

test("a lease token written before a restart is still found after it (a new store on the same storage)", async () => {
  await runInDurableObject(freshObject(), (_o: unknown, state: DurableObjectState) => {
    const first = new SqlJobStore(state.storage);
    first.enqueue([makeJob({ id: "j1" }), makeJob({ id: "j2" })]);
    const [a, b] = first.claim({ queues: ["default"], limit: 2, leaseMs: 1_000, workerId: "w", now: T });
    const second = new SqlJobStore(state.storage);
    // The restarted store knows the leases exist (its expiry bound comes from the index).
    const [again] = second.claim({ queues: ["default"], limit: 1, leaseMs: 1_000, workerId: "w", now: T + 1_000 });
    expect(again?.jobId).toBe(a!.jobId);
    expect(again?.token).not.toBe(a!.token);
    expect(second.complete(a!, 1, T + 1_001)).toBe(false);
    expect(second.complete(b!, 2, T + 1_001)).toBe(true);
    expect(second.complete({ jobId: "j1", token: `${again!.token.split(".")[0]}.${Number(again!.token.split(".")[1]) + 1}` }, 3, T + 1_002)).toBe(false);
  });
});

test("createWorker refuses a maxStalls that is not a non-negative integer (before installing anything)", async () => {
  const { createWorker } = await import("../../runtimes/cloudflare/index.ts");
  for (const maxStalls of [-1, 1.5, Number.NaN]) {
    expect(() => createWorker({ handlers: [], maxStalls })).toThrow(/maxStalls/);
  }
});

test("rows written before attempts stopped counting releases are upgraded once, on the next start", async () => {
  await runInDurableObject(freshObject(), async (_o: unknown, state: DurableObjectState) => {
    const first = new SqlJobStore(state.storage);
    // As the earlier code left them: four released claims counted, and one failure on top.
    first.enqueue([makeJob({ id: "released", attempts: 4 }), makeJob({ id: "failed-once", attempts: 3, retryCount: 1, status: "retrying" })]);
    state.storage.sql.exec("DELETE FROM portico_migrations");
    const second = new SqlJobStore(state.storage);
    expect(second.get("released")?.attempts).toBe(0);
    expect(second.get("failed-once")?.attempts).toBe(1);
    // Recorded: a later start leaves rows alone.
    first.enqueue([makeJob({ id: "preset", attempts: 2 })]);
    const third = new SqlJobStore(state.storage);
    expect(third.get("preset")?.attempts).toBe(2);
    expect([...state.storage.sql.exec("SELECT name FROM portico_migrations")].map((r) => r.name)).toEqual(["attempts-exclude-releases"]);
  });
});

test("the waiting-jobs counter is installed by the first countWaiting, counted from the rows there, and kept by triggers from then on", async () => {
  await runInDurableObject(freshObject(), async (_o: unknown, state: DurableObjectState) => {
    const tables = () => [...state.storage.sql.exec("SELECT name FROM sqlite_master WHERE name = 'job_counts' OR name LIKE 'jobs_waiting_%' ORDER BY name")].map((r) => r.name);
    const first = new SqlJobStore(state.storage);
    first.enqueue([makeJob({ id: "w1" }), makeJob({ id: "w2", status: "scheduled", runAt: new Date(T + 5_000) }), makeJob({ id: "r" }), makeJob({ id: "done", status: "completed" })]);
    first.claim({ queues: ["default"], limit: 1, leaseMs: 1_000, workerId: "w", now: T });
    // A store that never counts writes no counter (no triggers on its writes).
    expect(tables()).toEqual([]);
    const second = new SqlJobStore(state.storage);
    expect(second.countWaiting()).toBe(2);
    expect(tables()).toEqual(["job_counts", "jobs_waiting_delete", "jobs_waiting_insert", "jobs_waiting_update"]);
    // Kept by the triggers, whichever store instance writes.
    first.enqueue([makeJob({ id: "w3", status: "retrying", runAt: new Date(T + 1_000) })]);
    expect(second.countWaiting()).toBe(3);
    expect(first.countWaiting()).toBe(3);
    // Installed again (a second process that looked before the first recorded it): counted once.
    state.storage.sql.exec("DELETE FROM portico_migrations WHERE name = 'waiting-counter'");
    expect(new SqlJobStore(state.storage).countWaiting()).toBe(3);
  });
});
