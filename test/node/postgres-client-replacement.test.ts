/**
 * PostgresJobQueue's own client across lost connections, through a proxy that drops connections
 * at exact points of the protocol (test/postgres/cutting-proxy.ts) in front of the test server.
 */
import postgres from "postgres";
import { afterAll, afterEach, beforeAll, expect, test } from "vitest";
import { JobStatus, StorageError } from "../../src/core/index.ts";
import { BASE_TIME, makeJob } from "../../src/testing/index.ts";
import { PostgresJobQueue } from "../../src/drivers/postgres/index.ts";
import { startCuttingProxy, type CuttingProxy } from "../postgres/cutting-proxy.ts";
import { testDatabaseUrl } from "../postgres/harness.ts";

const url = testDatabaseUrl((name) => process.env[name]);
const admin = postgres(url, { max: 2, onnotice: () => {} });
const unhandled: unknown[] = [];
const onUnhandled = (error: unknown) => unhandled.push(error);
let proxy: CuttingProxy;
beforeAll(async () => {
  process.on("unhandledRejection", onUnhandled);
  proxy = await startCuttingProxy(url);
});
afterAll(async () => {
  process.off("unhandledRejection", onUnhandled);
  await proxy.close();
  await admin.end();
});

const opened: { queue: PostgresJobQueue; schema: string }[] = [];
afterEach(async () => {
  for (const { queue, schema } of opened.splice(0)) {
    await queue.close();
    await admin.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  }
});

function openQueue(max = 1): PostgresJobQueue {
  const schema = `repl_${crypto.randomUUID().replace(/-/g, "")}`;
  const queue = new PostgresJobQueue({ url: proxy.url, max }, { schema, listen: false, leaseClock: "caller" });
  opened.push({ queue, schema });
  return queue;
}

/** Lets a rejection nobody handles reach the process (it is reported a turn after it happens). */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setTimeout(resolve, 50));
}

test("a connection reset between its startup and its first statement fails that call only; nothing rejects unhandled and the next call works", async () => {
  // postgres (3.4.9) fetches the array types on each new connection unless told not to, from a
  // promise nobody handles: a connection failing during that fetch ended the process.
  const reset = proxy.afterStartup("reset");
  const queue = openQueue();
  const failed = await queue.ready().then(
    () => null,
    (error: unknown) => error,
  );
  await reset;
  await settle();
  expect(unhandled).toEqual([]);
  expect(failed).toBeInstanceOf(StorageError);
  await queue.ready();
  expect((await queue.stats()).total).toBe(0);
});

test("replacing the client while another of its connections is starting fails the calls on the old one only; nothing rejects unhandled and the next call works", async () => {
  const queue = openQueue(3);
  const schema = queue.schema;
  await queue.ready();
  const holder = await admin.reserve();
  try {
    await holder.unsafe("BEGIN");
    await holder.unsafe(`LOCK TABLE "${schema}".jobs IN ACCESS EXCLUSIVE MODE`);
    // The connections opening made wait on the lock; one more call opens a new connection, held at its first message.
    const live = proxy.open;
    expect(live).toBeLessThan(3);
    const waiting = Array.from({ length: live }, () => queue.stats().then(() => null, (error: unknown) => error));
    const held = proxy.afterStartup("hold");
    const starting = queue.stats().then(() => null, (error: unknown) => error);
    await held;
    let pids: number[] = [];
    while (pids.length < live) {
      const rows = await admin<{ pid: number }[]>`
        SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE ${"%" + schema + "%"}`;
      pids = rows.map((r) => r.pid);
      if (pids.length < live) await new Promise((resolve) => setTimeout(resolve, 25));
    }
    // Their connections are lost: the queue replaces its client and ends the old one, the starting connection with it.
    await admin`SELECT pg_terminate_backend(pid) FROM unnest(${pids}::int[]) AS pid`;
    for (const error of await Promise.all(waiting)) expect(error).toBeInstanceOf(StorageError);
    expect(await starting).toBeInstanceOf(StorageError);
    await settle();
    expect(unhandled).toEqual([]);
  } finally {
    await holder.unsafe("ROLLBACK").catch(() => {});
    holder.release();
  }
  expect((await queue.stats()).total).toBe(0);
});

test("a lost connection leaves the statements in flight on the client's other connections to finish: a completion waiting there reports what it did", async () => {
  const queue = openQueue(2);
  const schema = queue.schema;
  await queue.enqueue([makeJob({ jobType: "replaced" })]);
  const [claim] = await queue.claim({ queues: ["default"], limit: 1, leaseMs: 60_000, workerId: "w", now: BASE_TIME });
  const holder = await admin.reserve();
  let completed: Promise<unknown>;
  try {
    await holder.unsafe("BEGIN");
    await holder.unsafe(`LOCK TABLE "${schema}".jobs IN ACCESS EXCLUSIVE MODE`);
    // Each waits on the lock on its own connection of the pool.
    completed = queue.complete(claim!, { ok: 1 }, BASE_TIME + 1).then((value) => ({ value }), (error: unknown) => ({ error }));
    const lost = queue.stats().then(() => null, (error: unknown) => error);
    const waiters = async () =>
      await admin<{ pid: number; query: string }[]>`
        SELECT pid, query FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE ${"%" + schema + "%"}`;
    let rows = await waiters();
    while (rows.length < 2) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      rows = await waiters();
    }
    const statsPid = rows.find((r) => r.query.includes("GROUP BY"))!.pid;
    await admin`SELECT pg_terminate_backend(${statsPid})`;
    expect(await lost).toBeInstanceOf(StorageError);
  } finally {
    await holder.unsafe("ROLLBACK").catch(() => {});
    holder.release();
  }
  // The completion's connection was never lost: it commits, and says so.
  expect(await completed).toEqual({ value: true });
  expect((await queue.get(claim!.jobId))!.status).toBe(JobStatus.COMPLETED);
  await settle();
  expect(unhandled).toEqual([]);
});
