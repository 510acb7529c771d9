/**
 * What the conformance suite cannot see about UnstorageJobQueue: durability across reopen on the
 * fs driver, the single-owner lock, takeover after a crash, write-through rollback and retention.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, test } from "vitest";
import { createStorage, defineDriver, type Storage } from "unstorage";
import fsDriver from "unstorage/drivers/fs";
import memoryDriver from "unstorage/drivers/memory";
import { JobService, JobStatus, StorageError, StoreLockedError } from "../../src/core/index.ts";
import { UnstorageJobQueue } from "../../src/drivers/unstorage/index.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "portico-unstorage-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function open(storage: Storage, options: Partial<ConstructorParameters<typeof UnstorageJobQueue>[0]> = {}): UnstorageJobQueue {
  const queue = new UnstorageJobQueue({ storage, lockSettleMs: 5, ...options });
  cleanups.push(() => queue.close());
  return queue;
}

test("jobs survive a close and reopen on the fs driver, with their order and state", async () => {
  const dir = await tempDir();
  const storage = createStorage({ driver: fsDriver({ base: dir }) });
  const first = open(storage);
  const service = new JobService({ queue: first });
  const low = await service.createJob("t", { n: 1 });
  const high = await service.createJob("t", { n: 2 }, { priority: 5 });
  const keyed = await service.createJob("t", { n: 3 }, { idempotencyKey: "k1" });
  const now = Date.now();
  const [claimed] = await first.claim({ queues: ["default"], limit: 1, leaseMs: 60_000, workerId: "w", now });
  expect(claimed!.jobId).toBe(high.id);
  await first.close();
  expect(await readdir(join(dir, "jobs"))).toHaveLength(3);

  const second = open(storage);
  const again = new JobService({ queue: second });
  expect((await second.get(high.id))?.status).toBe(JobStatus.RUNNING);
  expect((await second.get(low.id))?.payload).toEqual({ n: 1 });
  expect((await second.get(low.id))?.createdAt).toBeInstanceOf(Date);
  // The idempotency index is rebuilt from the records.
  expect((await again.createJob("t", { n: 9 }, { idempotencyKey: "k1" })).id).toBe(keyed.id);
  const next = await second.claim({ queues: ["default"], limit: 2, leaseMs: 60_000, workerId: "w", now });
  expect(next.map((c) => c.jobId)).toEqual([low.id, keyed.id]);
  // The running job's persisted lease still holds, then expires.
  expect(await second.claim({ queues: ["default"], limit: 1, leaseMs: 1000, workerId: "w", now: now + 1000 })).toEqual([]);
  const stolen = await second.claim({ queues: ["default"], limit: 1, leaseMs: 1000, workerId: "w", now: now + 61_000 });
  expect(stolen.map((c) => c.jobId)).toEqual([high.id]);
  // The first owner's lease token is now stale and refused.
  expect(await second.complete(claimed!, "late", now + 61_001)).toBe(false);
  expect(await second.complete(stolen[0]!, "ok", now + 61_001)).toBe(true);
});

test("a second owner of the same store is refused with StoreLockedError naming the owner", async () => {
  const storage = createStorage({ driver: memoryDriver() });
  const first = open(storage, { ownerLabel: "first process" });
  await first.open();
  const second = open(storage);
  const error = await second.open().then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(StoreLockedError);
  expect((error as StoreLockedError).code).toBe("store_locked");
  expect((error as Error).message).toContain("first process");
  expect((error as Error).message).toContain("lockWaitMs");
  // Every call on the refused handle fails the same way and writes nothing.
  await expect(second.enqueue([])).rejects.toBeInstanceOf(StoreLockedError);
  expect(await storage.getKeys("jobs")).toEqual([]);
});

test("closing releases the lock at once so the next owner opens without waiting", async () => {
  const storage = createStorage({ driver: memoryDriver() });
  const first = open(storage);
  await first.open();
  await first.close();
  expect(await storage.getItem("lock")).toBeNull();
  const second = open(storage);
  await second.open();
  expect(((await storage.getItem("lock")) as { owner: string }).owner).toBe(second.ownerId);
});

test("a crashed owner's lock expires and a waiting process takes over its running jobs", async () => {
  const storage = createStorage({ driver: memoryDriver() });
  const before = open(storage);
  const job = await new JobService({ queue: before }).createJob("t", {});
  const now = Date.now();
  await before.claim({ queues: ["default"], limit: 1, leaseMs: 100, workerId: "dead", now });
  await before.close();
  // What a process killed mid-job leaves behind: its lock (not yet expired) and a RUNNING job.
  await storage.setItem("lock", { owner: "dead-process", label: null, acquiredAt: now, expiresAt: Date.now() + 300 });

  await expect(open(storage).open()).rejects.toBeInstanceOf(StoreLockedError);
  const successor = open(storage, { lockWaitMs: 5_000 });
  await successor.open();
  expect(((await storage.getItem("lock")) as { owner: string }).owner).toBe(successor.ownerId);
  expect((await successor.get(job.id))?.status).toBe(JobStatus.RUNNING);
  const [reclaimed] = await successor.claim({ queues: ["default"], limit: 1, leaseMs: 1000, workerId: "new", now: now + 100 });
  expect(reclaimed?.jobId).toBe(job.id);
  expect(reclaimed?.job.attempts).toBe(2);
});

test("an owner whose lock was taken over stops writing with StoreLockedError", async () => {
  const storage = createStorage({ driver: memoryDriver() });
  const queue = open(storage, { lockTtlMs: 90 });
  await queue.open();
  await storage.setItem("lock", { owner: "usurper", label: "pid 42", acquiredAt: Date.now(), expiresAt: Date.now() + 60_000 });
  // The heartbeat (every 30 ms) notices; at the latest the expired lock is re-checked before a write.
  await new Promise((r) => setTimeout(r, 120));
  const error = await queue.enqueue([]).then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(StoreLockedError);
  expect((error as Error).message).toContain("usurper");
  expect(((await storage.getItem("lock")) as { owner: string }).owner).toBe("usurper");
});

test("a failed write leaves memory and store unchanged and rejects with StorageError", async () => {
  let failWrites = false;
  const inner = memoryDriver();
  const flaky = defineDriver(() => ({
    ...inner,
    name: "flaky",
    setItem(key: string, value: string) {
      if (failWrites && key.startsWith("jobs")) throw new Error("disk full");
      return inner.setItem!(key, value, {});
    },
  }))();
  const storage = createStorage({ driver: flaky });
  const queue = open(storage);
  const service = new JobService({ queue });
  const job = await service.createJob("t", { a: 1 });
  failWrites = true;
  const now = Date.now();
  await expect(queue.claim({ queues: ["default"], limit: 1, leaseMs: 1000, workerId: "w", now })).rejects.toBeInstanceOf(StorageError);
  expect((await queue.get(job.id))?.status).toBe(JobStatus.PENDING);
  expect((await queue.get(job.id))?.attempts).toBe(0);
  await expect(service.createJob("t", { a: 2 })).rejects.toBeInstanceOf(StorageError);
  expect((await queue.stats()).total).toBe(1);
  failWrites = false;
  // The job is still claimable exactly once after the failure.
  const claimed = await queue.claim({ queues: ["default"], limit: 5, leaseMs: 1000, workerId: "w", now });
  expect(claimed.map((c) => c.jobId)).toEqual([job.id]);
  expect((await queue.stats()).byStatus.running).toBe(1);
});

test("a batch that fails half-way is undone in the store too", async () => {
  let poisoned: string | null = null;
  const inner = memoryDriver();
  const flaky = defineDriver(() => ({
    ...inner,
    name: "flaky",
    setItem(key: string, value: string) {
      if (poisoned && key.endsWith(poisoned)) throw new Error("disk full");
      return inner.setItem!(key, value, {});
    },
  }))();
  const storage = createStorage({ driver: flaky });
  const queue = open(storage);
  const service = new JobService({ queue });
  const kept = await service.createJob("t", { n: 0 });
  const now = Date.now();
  const [claim] = await queue.claim({ queues: ["default"], limit: 1, leaseMs: 1000, workerId: "w", now });
  const before = await storage.getItem(`jobs:${kept.id}`);
  const specs = [0, 1, 2].map((n) => ({ jobType: "t", payload: { n } }));
  // The batch's middle job cannot be written; the others may have been.
  const jobs = specs.map((spec) => ({ ...kept, id: crypto.randomUUID(), payload: spec.payload, status: JobStatus.PENDING }));
  poisoned = jobs[1]!.id;
  await expect(queue.enqueue(jobs)).rejects.toBeInstanceOf(StorageError);
  expect(await storage.getKeys("jobs")).toEqual([`jobs:${kept.id}`]);
  poisoned = kept.id;
  await expect(queue.complete(claim!, "done", now + 1)).rejects.toBeInstanceOf(StorageError);
  poisoned = null;
  expect(await storage.getItem(`jobs:${kept.id}`)).toEqual(before);
  expect((await queue.get(kept.id))?.status).toBe(JobStatus.RUNNING);
  expect(await queue.complete(claim!, "done", now + 1)).toBe(true);
});

test("retention removes the keys of old completed jobs, also when applied at reopen", async () => {
  const storage = createStorage({ driver: memoryDriver() });
  const queue = open(storage, { retention: { maxCount: 2 } });
  const service = new JobService({ queue });
  const ids: string[] = [];
  for (let i = 0; i < 4; i++) ids.push((await service.createJob("t", { i })).id);
  const now = Date.now();
  const claimed = await queue.claim({ queues: ["default"], limit: 4, leaseMs: 1000, workerId: "w", now });
  for (const [i, c] of claimed.entries()) expect(await queue.complete(c, i, now + i)).toBe(true);
  expect((await storage.getKeys("jobs")).sort()).toEqual(ids.slice(2).map((id) => `jobs:${id}`).sort());
  expect(await queue.get(ids[0]!)).toBeNull();
  expect((await queue.get(ids[3]!))?.result).toBe(3);
  await queue.close();

  const strict = open(storage, { retention: { maxCount: 1 } });
  expect((await strict.stats()).total).toBe(1);
  expect(await storage.getKeys("jobs")).toEqual([`jobs:${ids[3]}`]);
});

test("ids that are not plain key segments are stored under an encoded key and load back", async () => {
  const storage = createStorage({ driver: memoryDriver() });
  const queue = open(storage);
  const base = (await new JobService({ queue: open(createStorage({ driver: memoryDriver() })) }).createJob("t", {}));
  const odd = { ...base, id: "a/b:c?d.." };
  await queue.enqueue([odd]);
  await queue.close();
  const reopened = open(storage);
  expect((await reopened.get("a/b:c?d.."))?.id).toBe("a/b:c?d..");
  expect(await storage.getKeys("jobs")).toHaveLength(1);
});

test("bad options are refused with a RangeError naming the option", () => {
  const storage = createStorage({ driver: memoryDriver() });
  expect(() => new UnstorageJobQueue({ storage, lockTtlMs: 0 })).toThrow(/lockTtlMs/);
  expect(() => new UnstorageJobQueue({ storage, lockWaitMs: -1 })).toThrow(/lockWaitMs/);
  expect(() => new UnstorageJobQueue({} as never)).toThrow(/storage/);
});


test("a failed batch waits for its other writes before undoing them, so none lands afterwards", async () => {
  // A driver whose write of one key fails at once while the others land 50 ms later.
  const inner = memoryDriver();
  const slowAndFailing = defineDriver(() => ({
    ...inner,
    name: "slow-and-failing",
    async setItem(key: string, value: string) {
      if (key.endsWith("blocked")) throw new Error("disk says no");
      await new Promise((resolve) => setTimeout(resolve, 50));
      return inner.setItem!(key, value, {});
    },
  }));
  const storage = createStorage({ driver: slowAndFailing(undefined) });
  const queue = open(storage, { lockSettleMs: 0 });
  await queue.open();
  const service = new JobService({ queue });
  await service.createJobs([
    { jobType: "a", payload: 1 },
    { jobType: "b", payload: 2 },
  ]);
  const ok = (await queue.list()).map((j) => j.id);
  expect(ok).toHaveLength(2);

  const a = { ...(await queue.get(ok[0]!))!, id: "fresh", status: JobStatus.PENDING };
  const blocked = { ...a, id: "blocked" };
  await expect(queue.enqueue([a, blocked])).rejects.toBeInstanceOf(StorageError);
  await new Promise((resolve) => setTimeout(resolve, 120)); // any write still in flight has landed by now
  expect(await queue.get("fresh")).toBeNull();
  expect(await storage.getKeys()).not.toContain(expect.stringContaining("fresh"));
  expect((await storage.getKeys()).filter((k) => k.includes("jobs"))).toHaveLength(2);
});

/** Rewrites a job's keys as the one-key format `v` (1 or 2) held them: the whole record under its head key. */
async function toOneKeyFormat(storage: Storage, id: string, v: 1 | 2, job: Record<string, unknown> = {}): Promise<string> {
  const head = (await storage.getItem(`jobs:${id}`)) as { v: number; seq: number; token: string | null; leaseExpiresAt: number; finishedAt: number };
  expect(head.v).toBe(3);
  const body = (await storage.getItem(`bodies:${id}`)) as Record<string, unknown>;
  const { seq, token, leaseExpiresAt, finishedAt } = head;
  await storage.setItem(`jobs:${id}`, { v, seq, token, leaseExpiresAt, finishedAt, job: { ...body, ...job } });
  await storage.removeItem(`bodies:${id}`);
  return `jobs:${id}`;
}

test("records written before attempts stopped counting releases are upgraded on load (no false stalls)", async () => {
  const storage = createStorage({ driver: memoryDriver() });
  const first = open(storage, { lockSettleMs: 0 });
  const service = new JobService({ queue: first });
  const job = await service.createJob("t", { n: 1 });
  await first.close();
  // What the earliest format held for a job released four times: attempts 4, no failure.
  await toOneKeyFormat(storage, job.id, 1, { attempts: 4 });
  const second = open(storage, { lockSettleMs: 0 });
  expect((await second.get(job.id))?.attempts).toBe(0);
  const [claim] = await second.claim({ queues: ["default"], limit: 1, leaseMs: 1_000, workerId: "w", now: Date.now() });
  expect(claim?.job.attempts).toBe(1);
});

test("a store of one key per job (format 2) is upgraded on open to head and body keys, nothing lost", async () => {
  const dir = await tempDir();
  const storage = createStorage({ driver: fsDriver({ base: dir }) });
  const first = open(storage, { lockSettleMs: 0 });
  const service = new JobService({ queue: first });
  const done = await service.createJob("t", { n: 1 }, { metadata: { m: 1 } });
  const waiting = await service.createJob("t", { n: 2 }, { priority: 3, idempotencyKey: "k" });
  const now = Date.now();
  const [c] = await first.claim({ queues: ["default"], limit: 1, leaseMs: 60_000, workerId: "w", now });
  expect(c!.jobId).toBe(waiting.id);
  await first.complete({ jobId: c!.jobId, token: c!.token }, { r: 1 }, now);
  const before = [await first.get(done.id), await first.get(waiting.id)];
  await first.close();
  for (const j of before) await toOneKeyFormat(storage, j!.id, 2);
  await storage.setItem("meta", { ...(await storage.getItem<object>("meta")), version: 1 });
  expect((await storage.getKeys("bodies")).length).toBe(0);

  const second = open(storage, { lockSettleMs: 0 });
  expect([await second.get(done.id), await second.get(waiting.id)]).toEqual(before);
  expect((await storage.getKeys("bodies")).sort()).toEqual([`bodies:${done.id}`, `bodies:${waiting.id}`].sort());
  expect(((await storage.getItem(`jobs:${done.id}`)) as { v: number }).v).toBe(3);
  // Marked, so an earlier release refuses the store instead of setting its new records aside.
  expect(((await storage.getItem("meta")) as { version: number }).version).toBe(2);
  await second.close();
  const third = open(storage, { lockSettleMs: 0 });
  expect([await third.get(done.id), await third.get(waiting.id)]).toEqual(before);
});

test("a body key left without its head (a crash inside an enqueue) is deleted on open", async () => {
  const storage = createStorage({ driver: memoryDriver() });
  const first = open(storage, { lockSettleMs: 0 });
  const job = await new JobService({ queue: first }).createJob("t", { n: 1 });
  await first.close();
  await storage.setItem("bodies:orphan", { id: "orphan", createdAt: 1, runAt: 1 });
  const second = open(storage, { lockSettleMs: 0 });
  expect((await second.get(job.id))?.payload).toEqual({ n: 1 });
  expect(await storage.getKeys("bodies")).toEqual([`bodies:${job.id}`]);
});

test("a rate-limited key's starts survive a reopen: the window still holds the next job back", async () => {
  const storage = createStorage({ driver: memoryDriver() });
  const first = open(storage, { lockSettleMs: 0 });
  const service = new JobService({ queue: first });
  const rateLimit = { key: "api", limit: 1, periodMs: 60_000 };
  const a = await service.createJob("t", { n: 1 }, { rateLimit });
  const b = await service.createJob("t", { n: 2 }, { rateLimit });
  const now = Date.now();
  const claimed = await first.claim({ queues: ["default"], limit: 5, leaseMs: 60_000, workerId: "w", now });
  expect(claimed.map((c) => c.jobId)).toEqual([a.id]);
  await first.complete({ jobId: a.id, token: claimed[0]!.token }, null, now + 10);
  await first.close();

  const second = open(storage, { lockSettleMs: 0 });
  expect(await second.claim({ queues: ["default"], limit: 5, leaseMs: 60_000, workerId: "w", now: now + 1_000 })).toEqual([]);
  const [later] = await second.claim({ queues: ["default"], limit: 5, leaseMs: 60_000, workerId: "w", now: now + 60_001 });
  expect(later?.jobId).toBe(b.id);
  expect((await second.get(a.id))?.startedAt?.getTime()).toBe(now);
});

test("a failed head write after its body landed puts the body back: the job and its stored record are as before", async () => {
  const inner = memoryDriver();
  let failHeads = false;
  const flaky = defineDriver(() => ({
    ...inner,
    name: "flaky-heads",
    setItem(key: string, value: string) {
      if (failHeads && key.startsWith("jobs:")) throw new Error("disk full");
      return inner.setItem!(key, value, {});
    },
  }))();
  const storage = createStorage({ driver: flaky });
  const queue = open(storage);
  const job = await new JobService({ queue }).createJob("t", { a: 1 });
  const now = Date.now();
  const [c] = await queue.claim({ queues: ["default"], limit: 1, leaseMs: 60_000, workerId: "w", now });
  const body = await storage.getItem(`bodies:${job.id}`);
  failHeads = true;
  await expect(queue.complete({ jobId: job.id, token: c!.token }, { done: true }, now)).rejects.toBeInstanceOf(StorageError);
  expect(await storage.getItem(`bodies:${job.id}`)).toEqual(body);
  const kept = await queue.get(job.id);
  expect([kept?.status, kept?.result, kept?.completedAt]).toEqual([JobStatus.RUNNING, null, null]);
  failHeads = false;
  expect(await queue.complete({ jobId: job.id, token: c!.token }, { done: true }, now)).toBe(true);
  expect((await queue.get(job.id))?.result).toEqual({ done: true });
});

test("a body that cannot be read fails the call with StorageError and changes nothing", async () => {
  const inner = memoryDriver();
  let failReads = false;
  const flaky = defineDriver(() => ({
    ...inner,
    name: "flaky-reads",
    getItemRaw(key: string) {
      if (failReads && key.startsWith("bodies:")) throw new Error("I/O error");
      return inner.getItemRaw!(key, {});
    },
  }))();
  const storage = createStorage({ driver: flaky });
  const queue = open(storage);
  const job = await new JobService({ queue }).createJob("t", { a: 1 });
  const now = Date.now();
  failReads = true;
  await expect(queue.claim({ queues: ["default"], limit: 1, leaseMs: 60_000, workerId: "w", now })).rejects.toBeInstanceOf(StorageError);
  await expect(queue.get(job.id)).rejects.toBeInstanceOf(StorageError);
  failReads = false;
  expect((await queue.get(job.id))?.status).toBe(JobStatus.PENDING);
  expect(((await storage.getItem(`jobs:${job.id}`)) as { head: { status: string; attempts: number } }).head).toMatchObject({ status: "pending", attempts: 0 });
  const claimed = await queue.claim({ queues: ["default"], limit: 5, leaseMs: 60_000, workerId: "w", now });
  expect(claimed.map((c) => [c.jobId, c.job.payload, c.job.attempts])).toEqual([[job.id, { a: 1 }, 1]]);
});

test("a handler that changes its claimed payload changes nothing stored (running jobs' bodies are kept as text)", async () => {
  const storage = createStorage({ driver: memoryDriver() });
  const queue = open(storage);
  const job = await new JobService({ queue }).createJob("t", { list: [1] });
  const now = Date.now();
  const [c] = await queue.claim({ queues: ["default"], limit: 1, leaseMs: 60_000, workerId: "w", now });
  (c!.job.payload as { list: number[] }).list.push(2);
  expect(await queue.progress({ jobId: job.id, token: c!.token }, 50, now)).toBe(true);
  expect(await queue.complete({ jobId: job.id, token: c!.token }, "ok", now)).toBe(true);
  const done = await queue.get(job.id);
  expect([done?.payload, done?.progress, done?.result, done?.leasedBy]).toEqual([{ list: [1] }, 50, "ok", "w"]);
});

test("a lease renewal writes the head only and reads no body; a progress report writes the body only", async () => {
  const inner = memoryDriver();
  const calls: string[] = [];
  const counting = defineDriver(() => ({
    ...inner,
    name: "counting",
    getItemRaw(key: string) {
      calls.push(`get ${key.split(":")[0]}`);
      return inner.getItemRaw!(key, {});
    },
    setItem(key: string, value: string) {
      calls.push(`set ${key.split(":")[0]}`);
      return inner.setItem!(key, value, {});
    },
  }))();
  const queue = open(createStorage({ driver: counting }));
  const job = await new JobService({ queue }).createJob("t", { a: 1 });
  const now = Date.now();
  const [c] = await queue.claim({ queues: ["default"], limit: 1, leaseMs: 60_000, workerId: "w", now });
  const lease = { jobId: job.id, token: c!.token };
  calls.length = 0;
  expect(await queue.extendLease(lease, 60_000, now + 1)).toBe(true);
  expect(calls.filter((x) => !x.endsWith("lock"))).toEqual(["set jobs"]);
  calls.length = 0;
  expect(await queue.progress(lease, 10, now + 2)).toBe(true);
  expect(calls.filter((x) => !x.endsWith("lock"))).toEqual(["set bodies"]);
});
