/**
 * JobService's maxWaitingJobs: creations past it fail with StorageFullError and write nothing,
 * on the memory, unstorage, SQLite and PostgreSQL stores (the conformance suite checks every
 * store, this adds room made by a claim); the webhook answers 507 storage_full with JSON on a
 * memory and on SQL stores; PostgreSQL's cached count follows this queue's own changes exactly
 * and other processes' within waitingCountMaxAgeMs; a store that cannot count its waiting jobs
 * is refused at construction.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { afterAll, expect, test } from "vitest";
import { createStorage } from "unstorage";
import memoryDriver from "unstorage/drivers/memory";
import { JobService, PorticoError, StorageFullError, type JobQueue } from "../../src/core/index.ts";
import { MemoryJobQueue } from "../../src/drivers/memory.ts";
import { PostgresJobQueue } from "../../src/drivers/postgres/index.ts";
import { SqliteJobQueue, type SqliteDatabase } from "../../src/drivers/sqlite/index.ts";
import { UnstorageJobQueue } from "../../src/drivers/unstorage/index.ts";
import { BASE_TIME as T, makeJob } from "../../src/testing/index.ts";
import { testDatabaseUrl } from "../postgres/harness.ts";
import { startServer, TOKEN } from "./webhook-helpers.ts";

const Database = createRequire(import.meta.url)("better-sqlite3") as new (path: string) => SqliteDatabase & { close(): void };
const url = testDatabaseUrl((n) => process.env[n]);

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

function sqliteQueue(): JobQueue {
  const dir = mkdtempSync(join(tmpdir(), "portico-quota-"));
  const db = new Database(join(dir, "jobs.sqlite"));
  cleanups.push(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return new SqliteJobQueue({ database: db });
}

function pgSchema(): string {
  const schema = `t_${crypto.randomUUID().replace(/-/g, "")}`;
  cleanups.push(async () => {
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    await sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await sql.end();
  });
  return schema;
}

const pgQueue = (schema = pgSchema(), waitingCountMaxAgeMs?: number) =>
  new PostgresJobQueue({ url, max: 2 }, { schema, leaseClock: "caller", ...(waitingCountMaxAgeMs === undefined ? {} : { waitingCountMaxAgeMs }) });

const stores: [string, () => JobQueue][] = [
  ["memory", () => new MemoryJobQueue()],
  ["unstorage", () => new UnstorageJobQueue({ storage: createStorage({ driver: memoryDriver() }), lockSettleMs: 5 })],
  ["sqlite", sqliteQueue],
  ["postgres", () => pgQueue()],
];

for (const [name, make] of stores) {
  test(`${name}: creations past maxWaitingJobs fail with StorageFullError and write nothing; a claim makes room`, async () => {
    const queue = make();
    const service = new JobService({ queue, maxWaitingJobs: 3 });
    await service.createJob("t", { n: 1 });
    expect((await service.createJob("t", { n: 2 }, { delayMs: 60_000 })).status).toBe("scheduled");
    const error = await service.createJobs([{ jobType: "t", payload: { n: 3 } }, { jobType: "t", payload: { n: 4 } }]).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(StorageFullError);
    expect(error).toBeInstanceOf(PorticoError);
    expect(error).toMatchObject({ code: "storage_full", limit: 3, waiting: 2, adding: 2 });
    expect((await queue.stats()).total).toBe(2);
    await service.createJob("t", { n: 3 });
    await expect(service.createJob("t", { n: 4 })).rejects.toBeInstanceOf(StorageFullError);
    expect((await queue.stats()).total).toBe(3);
    // A claimed job no longer waits, so there is room again (on PostgreSQL too: this queue's own claim).
    const [claimed] = await queue.claim({ queues: ["default"], limit: 1, leaseMs: 60_000, workerId: "w", now: Date.now() });
    expect(claimed).toBeDefined();
    expect((await service.createJob("t", { n: 5 })).payload).toEqual({ n: 5 });
    await expect(service.createJob("t", { n: 6 })).rejects.toBeInstanceOf(StorageFullError);
    await queue.close();
  });
}

test("maxWaitingJobs is refused on a store without countWaiting, and must be a positive integer", () => {
  const queue = new MemoryJobQueue();
  const blind = Object.create(queue, { countWaiting: { value: undefined } }) as JobQueue;
  expect(() => new JobService({ queue: blind, maxWaitingJobs: 5 })).toThrow(/maxWaitingJobs needs a store that counts/);
  expect(() => new JobService({ queue, maxWaitingJobs: 0 })).toThrow(/maxWaitingJobs must be a positive integer/);
  expect(() => new JobService({ queue: blind })).not.toThrow();
});

const webhookStores: [string, () => JobQueue | undefined][] = [
  ["memory", () => undefined],
  ["sqlite", sqliteQueue],
  ["postgres", () => pgQueue()],
];

for (const [name, make] of webhookStores) {
  test(`${name}: the webhook answers 507 storage_full (JSON) when maxWaitingJobs is reached, and stores nothing`, async () => {
    const queue = make();
    const server = await startServer({ auth: { bearerToken: TOKEN } }, { maxWaitingJobs: 1, ...(queue ? { queue } : {}) });
    const count = async () => (await server.service.queue.stats()).total;
    try {
      const post = (n: number) =>
        fetch(server.jobs, {
          method: "POST",
          headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
          body: JSON.stringify({ job_type: "t", payload: { n } }),
        });
      expect((await post(1)).status).toBe(202);
      const full = await post(2);
      expect(full.status).toBe(507);
      expect(full.headers.get("content-type")).toMatch(/^application\/json/);
      const body = (await full.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe("storage_full");
      expect(body.error.message).toMatch(/maxWaitingJobs \(1\)/);
      expect(await count()).toBe(1);
    } finally {
      await server.close();
      await server.service.queue.close();
    }
  });
}

test("postgres: countWaiting({ cached: true }) follows this queue's own changes exactly, and another process's once the count is older than waitingCountMaxAgeMs", async () => {
  const schema = pgSchema();
  // A count that never ages within the test: every cached answer is the first count plus this queue's own changes.
  const a = pgQueue(schema, 3_600_000);
  const b = pgQueue(schema);
  const fresh = () => b.countWaiting();
  const same = async (step: string) => expect(await a.countWaiting({ cached: true }), step).toBe(await fresh());
  const lease = 10_000;
  const claim = (queue: string, now: number, limit = 1) => a.claim({ queues: [queue], limit, leaseMs: lease, workerId: "w", now });
  try {
    expect(await a.countWaiting({ cached: true })).toBe(0);
    const jobs = [makeJob({ priority: 3 }), makeJob({ priority: 2 }), makeJob({ priority: 1 }), makeJob({ idempotencyKey: "k" })];
    await a.enqueue(jobs);
    await a.enqueue([makeJob({ idempotencyKey: "k" })]);
    await same("after enqueues and a repeated key");
    const [first] = await claim("default", T);
    await same("after a claim");
    await a.fail(first!, "again", { status: "retrying", retryAt: T + 1 }, T);
    await same("after a failure with a retry");
    const [second] = await claim("default", T + 2);
    await a.fail(second!, "fatal", { status: "dead_letter" }, T + 2);
    await a.retry(second!.jobId, T + 3);
    await same("after a dead letter and its retry");
    const [third] = await claim("default", T + 4);
    await a.release(third!, T + 4);
    await same("after a release");
    const [fourth] = await claim("default", T + 5);
    expect(await a.cancel(fourth!.jobId, T + 5, { running: true })).toBe(true);
    await same("after cancelling a RUNNING job");
    const [waiting] = await a.list({ status: "pending", limit: 1 });
    expect(await a.cancel(waiting!.id, T + 6, { running: true })).toBe(true);
    await same("after cancelling a waiting job through the same call");
    const [held] = await claim("default", T + 7);
    expect(held).toBeDefined();
    // Its lease runs out: the reclaim takes a RUNNING job, which changes nothing.
    expect((await claim("default", T + 7 + lease + 1, 10)).map((c) => c.jobId)).toContain(held!.jobId);
    await same("after reclaiming an expired lease");
    // Flow control: a key's jobs parked behind a running one, and an expired lease of the key parked as PENDING.
    const keyed = [1, 2, 3].map(() => makeJob({ queueName: "keyed", concurrencyKey: "acct" }));
    await a.enqueue(keyed);
    const [k1] = await claim("keyed", T + 8, 10);
    expect(k1).toBeDefined();
    await same("after a gated claim that parks the key's other jobs");
    await a.enqueue([makeJob({ queueName: "keyed", concurrencyKey: "acct", priority: 9 })]);
    expect(await claim("keyed", T + 8 + lease + 1, 10)).toHaveLength(1);
    await same("after a gated claim past an expired lease of the key");
    expect(await a.bulk("cancel", { queueName: "keyed" }, T + 9)).toBeGreaterThan(0);
    await same("after a bulk cancel");
    expect(await a.bulk("retry", { status: "dead_letter" }, T + 10)).toBe(0);
    await same("after an empty bulk retry");

    // Another process's creation shows in the cached figure only once it is counted again.
    const before = await a.countWaiting({ cached: true });
    await b.enqueue([makeJob(), makeJob()]);
    expect(await a.countWaiting({ cached: true })).toBe(before);
    expect(await a.countWaiting()).toBe(before + 2);
    expect(await a.countWaiting({ cached: true })).toBe(before + 2);
    // With no age allowed, every call counts.
    const exact = pgQueue(schema, 0);
    expect(await exact.countWaiting({ cached: true })).toBe(before + 2);
    await b.enqueue([makeJob()]);
    expect(await exact.countWaiting({ cached: true })).toBe(before + 3);
    await exact.close();
    // A count older than the age allowed is renewed in the background: that call answers at once
    // from the figure it has, a later one has the new count.
    const quick = pgQueue(schema, 1);
    expect(await quick.countWaiting({ cached: true })).toBe(before + 3);
    await b.enqueue([makeJob()]);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await quick.countWaiting({ cached: true })).toBe(before + 3);
    let seen = before + 3;
    while (seen !== before + 4) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      seen = await quick.countWaiting({ cached: true });
    }
    expect(seen).toBe(before + 4);
    await quick.close();
  } finally {
    await a.close();
    await b.close();
  }
});

test("postgres: waitingCountMaxAgeMs must be a number >= 0", () => {
  for (const bad of [-1, Number.NaN, "1000"]) {
    expect(() => new PostgresJobQueue({ url }, { waitingCountMaxAgeMs: bad as number })).toThrow(/waitingCountMaxAgeMs must be a number >= 0/);
  }
});
