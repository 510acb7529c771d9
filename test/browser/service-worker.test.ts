/**
 * The page side of portico-jobs/service-worker in real Chromium (a vitest browser page, which has
 * no service worker of its own): the IndexedDB queue's onEnqueue hook, requestJobSync and
 * hasBackgroundSync without a registration, startServiceWorkerJobs' option checks, and a run
 * driven directly while navigator.onLine is false (no claim). The worker side runs in
 * test/node/service-worker-e2e.test.ts, in a real service worker.
 */
import { afterEach, expect, test } from "vitest";
import { JobService, PorticoError, StorageError, silentLogger, type Job, type JobHandler } from "../../src/core/index.ts";
import { IndexedDBJobQueue } from "../../src/drivers/indexeddb/index.ts";
import { hasBackgroundSync, requestJobSync, startServiceWorkerJobs } from "../../runtimes/service-worker/index.ts";
import { deleteDatabase } from "./helpers.ts";

const opened: IndexedDBJobQueue[] = [];

afterEach(async () => {
  const names = opened.map((q) => q.dbName);
  await Promise.all(opened.splice(0).map((q) => q.close()));
  for (const name of names) await deleteDatabase(name);
});

function queue(onEnqueue: (jobs: readonly Job[]) => void | Promise<void>): IndexedDBJobQueue {
  const q = new IndexedDBJobQueue({ dbName: `sw-page-${crypto.randomUUID()}`, onEnqueue });
  opened.push(q);
  return q;
}

test("onEnqueue hears every enqueue that stored new jobs, with those jobs only", async () => {
  const heard: string[][] = [];
  const jobs = new JobService({ queue: queue((batch) => void heard.push(batch.map((j) => j.jobType))) });
  await jobs.createJob("a", {}, { idempotencyKey: "k" });
  await jobs.createJobs([
    { jobType: "b", payload: {} },
    { jobType: "a", payload: {}, options: { idempotencyKey: "k" } }, // a repeat: not new
  ]);
  await jobs.createJob("a", {}, { idempotencyKey: "k" }); // nothing new: no call
  expect(heard).toEqual([["a"], ["b"]]);
});

test("a throwing or rejecting onEnqueue does not fail the enqueue, and the job is stored", async () => {
  const throwing = new JobService({ queue: queue(() => {
    throw new Error("hook broke");
  }) });
  const a = await throwing.createJob("a", { n: 1 });
  expect(await throwing.getJob(a.id)).toMatchObject({ id: a.id, status: "pending" });
  const rejecting = new JobService({ queue: queue(() => Promise.reject(new Error("hook rejected"))) });
  const b = await rejecting.createJob("b", { n: 2 });
  expect(await rejecting.getJob(b.id)).toMatchObject({ id: b.id, status: "pending" });
});

test("onEnqueue must be a function", () => {
  expect(() => new IndexedDBJobQueue({ onEnqueue: "yes" as never })).toThrow(StorageError);
  expect(() => new IndexedDBJobQueue({ onEnqueue: "yes" as never })).toThrow(/options\.onEnqueue/);
});

test("requestJobSync without a service worker resolves and does nothing; hasBackgroundSync says false", async () => {
  expect(await navigator.serviceWorker.getRegistration()).toBeUndefined();
  await expect(requestJobSync()).resolves.toBeUndefined();
  expect(await hasBackgroundSync()).toBe(false);
});

test("requestJobSync uses the registration's Background Sync when it has one, else posts to the active worker", async () => {
  const registered: string[] = [];
  const posted: unknown[] = [];
  const active = { postMessage: (m: unknown) => void posted.push(m) };
  const withSync = { sync: { register: async (tag: string) => void registered.push(tag) }, active } as unknown as ServiceWorkerRegistration;
  await requestJobSync(withSync, "my-tag");
  expect(registered).toEqual(["my-tag"]);
  expect(posted).toEqual([]);
  expect(await hasBackgroundSync(withSync)).toBe(true);

  // A refused registration (a permission policy) falls back to the message, as no sync at all does.
  const refusing = { sync: { register: () => Promise.reject(new DOMException("denied", "NotAllowedError")) }, active } as unknown as ServiceWorkerRegistration;
  await requestJobSync(refusing);
  const withoutSync = { active } as unknown as ServiceWorkerRegistration;
  await requestJobSync(withoutSync, "other");
  expect(posted).toEqual([
    { type: "portico-jobs:run", tag: "portico-jobs" },
    { type: "portico-jobs:run", tag: "other" },
  ]);
  expect(await hasBackgroundSync(withoutSync)).toBe(false);
});

test("startServiceWorkerJobs refuses bad options with a typed error naming the field", () => {
  const cases: [unknown, RegExp][] = [
    [undefined, /options must be an object/],
    [{}, /options\.handlers/],
    [{ handlers: [], syncTag: "" }, /options\.syncTag/],
    [{ handlers: [], budgets: { sync: { claimMs: -1 } } }, /options\.budgets\.sync\.claimMs/],
    [{ handlers: [], budgets: { message: { graceMs: Number.NaN } } }, /options\.budgets\.message\.graceMs/],
    [{ handlers: [], resyncWithinMs: -5 }, /options\.resyncWithinMs/],
  ];
  for (const [options, message] of cases) {
    let error: unknown;
    try {
      startServiceWorkerJobs(options as never);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PorticoError);
    expect((error as PorticoError).code).toBe("invalid_options");
    expect((error as Error).message).toMatch(message);
  }
});

test("a run while the worker is offline claims nothing, even the run's first claim; back online, the job runs once", async () => {
  const q = queue(() => undefined);
  const ran: string[] = [];
  const handler: JobHandler<{ n: number }> = { jobType: "note.send", handle: async (job) => (ran.push(job.id), { success: true }) };
  const job = await new JobService({ queue: q, handlers: [handler] }).createJob("note.send", { n: 1 });
  // A scope of its own: the page is not a service worker; runDueJobs drives a run directly.
  const scope = { registration: {}, addEventListener: () => undefined };
  const jobs = startServiceWorkerJobs({ handlers: [handler], queue: q, scope, logger: silentLogger, budgets: { sync: { claimMs: 300, graceMs: 100 } } });
  const onLine = Object.getOwnPropertyDescriptor(Navigator.prototype, "onLine")!;
  Object.defineProperty(navigator, "onLine", { configurable: true, get: () => false });
  try {
    // A sync event can reach a worker that sees itself offline (a flapping network): its fetch
    // would fail and use up an attempt. The WorkerManager claims at once when it starts, so
    // this failed before the claim itself checked the network.
    const offline = await jobs.runDueJobs("sync");
    expect(offline.started).toBe(0);
    expect(ran).toEqual([]);
    expect(await q.get(job.id)).toMatchObject({ status: "pending", attempts: 0 });
  } finally {
    delete (navigator as { onLine?: boolean }).onLine;
  }
  expect(Object.getOwnPropertyDescriptor(Navigator.prototype, "onLine")).toEqual(onLine);
  expect(navigator.onLine).toBe(true);
  const online = await jobs.runDueJobs("sync");
  expect(online.started).toBe(1);
  expect(ran).toEqual([job.id]);
  expect(await q.get(job.id)).toMatchObject({ status: "completed", attempts: 1, retryCount: 0 });
});
