/**
 * The flow-control section of the conformance suite: concurrency keys, rate limits and debounce
 * as the store enforces them, with several consumers on one store (a second handle when the
 * driver offers one) and explicit `now` values instead of sleeps.
 * @module
 */
import type { ClaimRequest, ClaimedJob, Job, JobQueue } from "../../core/index.ts";
import { assert, assertDeepEqual, assertEqual, assertPresent, show } from "./assert.ts";
import { BASE_TIME, makeJob } from "./fixtures.ts";
import type { ConformanceSuite } from "./options.ts";

const T = BASE_TIME;
const LEASE = 10_000;

const req = (limit: number, now: number, leaseMs = LEASE, workerId = "w"): ClaimRequest => ({ queues: ["default"], limit, leaseMs, workerId, now });
const keyed = (key: string, limit = 1, overrides: Partial<Job> = {}): Job => makeJob({ concurrencyKey: key, concurrencyLimit: limit, ...overrides });
/** A debounced job as JobService builds it: due `delayMs` after its creation at `at`. */
const debounced = (key: string, at: number, payload: unknown, delayMs = 1_000, maxDelayMs?: number): Job =>
  makeJob({
    payload,
    createdAt: new Date(at),
    runAt: new Date(at + delayMs),
    scheduledAt: new Date(at + delayMs),
    status: "scheduled",
    debounce: maxDelayMs === undefined ? { key, delayMs } : { key, delayMs, maxDelayMs },
  });
const ids = (claimed: readonly ClaimedJob[]) => claimed.map((c) => c.jobId);

/** Registers the flow-control tests. */
export function flowControlSection(suite: ConformanceSuite): void {
  const { it, options, dispose } = suite;

  /** Runs `body` with two consumers on one store: a second handle when the driver has one, else the same queue twice. */
  const withConsumers = (title: string, body: (a: JobQueue, b: JobQueue) => Promise<void>) =>
    it(`flow control: ${title}`, async (a) => {
      const b = options.openSecondHandle ? await options.openSecondHandle(a) : a;
      try {
        await body(a, b);
      } finally {
        if (b !== a) await dispose(b);
      }
    });

  withConsumers("a concurrency key holds at most its limit of RUNNING jobs, in claim order", async (a, b) => {
    const jobs = [keyed("acct-1", 1, { priority: 1 }), keyed("acct-1"), keyed("acct-1")];
    const other = makeJob();
    await a.enqueue([...jobs, other]);
    const first = await a.claim(req(10, T));
    assertDeepEqual(ids(first).sort(), [jobs[0]!.id, other.id].sort(), "one job of the key and the unkeyed job");
    assertEqual((await b.claim(req(10, T + 1))).length, 0, "the second consumer gets nothing while the key is busy");
    const lease = first.find((c) => c.jobId === jobs[0]!.id)!;
    assertEqual(await a.complete(lease, null, T + 2), true, "complete");
    const next = await b.claim(req(10, T + 3));
    assertDeepEqual(ids(next), [jobs[1]!.id], "the next job of the key, in insertion order");
    assertEqual(next[0]!.job.concurrencyKey, "acct-1", "claimed job carries its key");
    assertEqual(next[0]!.job.concurrencyLimit, 1, "claimed job carries its limit");
  });

  withConsumers("a concurrency limit of 2 across consumers; failing and releasing free a slot", async (a, b) => {
    const jobs = Array.from({ length: 6 }, () => keyed("k2", 2));
    await a.enqueue(jobs);
    const c1 = await a.claim(req(1, T));
    const c2 = await b.claim(req(5, T + 1));
    assertEqual(c1.length + c2.length, 2, "two running");
    assertEqual((await a.claim(req(5, T + 2))).length, 0, "no third");
    assertEqual(await a.fail(c1[0]!, "boom", { status: "retrying", retryAt: T + 100_000 }, T + 3), true, "fail");
    const c3 = await b.claim(req(5, T + 4));
    assertEqual(c3.length, 1, "failing freed one slot");
    assertEqual(await b.release(c3[0]!, T + 5), true, "release");
    const c4 = await a.claim(req(5, T + 6));
    assertEqual(c4.length, 1, "releasing freed one slot");
    assertEqual((await b.claim(req(5, T + 7))).length, 0, "still two running");
  });

  it("flow control: a busy key never blocks the jobs of other keys behind it", async (q) => {
    const busy = Array.from({ length: 50 }, (_, i) => keyed("busy", 1, { priority: 10, runAt: new Date(T - 100 + i), createdAt: new Date(T - 100 + i) }));
    const free = [keyed("free-1"), keyed("free-2"), makeJob()];
    await q.enqueue([...busy, ...free]);
    const [c1] = await q.claim(req(1, T));
    assertEqual(c1?.jobId, busy[0]!.id, "highest priority first");
    const got: string[] = [];
    for (let i = 0; i < 3; i++) got.push(...ids(await q.claim(req(1, T + 1 + i))));
    assertDeepEqual(got.sort(), free.map((j) => j.id).sort(), "each later claim serves another key");
    assertEqual((await q.claim(req(5, T + 10))).length, 0, "the busy key stays at its limit");
    assertEqual(await q.complete(c1!, null, T + 11), true, "complete");
    assertDeepEqual(ids(await q.claim(req(5, T + 12))), [busy[1]!.id], "the busy key's next job, in order");
  });

  it("flow control: cancelling a RUNNING job of a key (where the store supports it) frees its slot", async (q) => {
    const jobs = [keyed("cx"), keyed("cx")];
    await q.enqueue(jobs);
    const [first] = await q.claim(req(1, T));
    assertEqual(first?.jobId, jobs[0]!.id, "first claimed");
    assertEqual((await q.claim(req(5, T + 1))).length, 0, "key busy");
    const cancelled = await q.cancel(first!.jobId, T + 2, { running: true });
    // A store without cancel of running jobs refuses it, and the job keeps its slot.
    const next = await q.claim(req(5, T + 3));
    assertDeepEqual(ids(next), cancelled ? [jobs[1]!.id] : [], cancelled ? "the slot went to the next job" : "slot still held");
  });

  withConsumers("an expired lease frees its key's slot", async (a, b) => {
    const jobs = [keyed("exp"), keyed("exp")];
    await a.enqueue(jobs);
    const [first] = await a.claim(req(1, T, 1_000));
    assertPresent(first, "first claim");
    assertEqual((await b.claim(req(5, T + 999))).length, 0, "live lease holds the slot");
    const after = await b.claim(req(5, T + 1_000));
    assertEqual(after.length, 1, `exactly one job of the key once the lease expired, got ${show(ids(after))}`);
    assertEqual((await a.claim(req(5, T + 1_001))).length, 0, "and no second one");
  });

  withConsumers("a rate limit allows at most `limit` starts per window; nextWakeAt tells when the next is allowed", async (a, b) => {
    const rateLimit = { key: "api", limit: 2, periodMs: 1_000 };
    const jobs = Array.from({ length: 5 }, () => makeJob({ rateLimit }));
    await a.enqueue(jobs);
    const first = [...(await a.claim(req(1, T))), ...(await b.claim(req(5, T + 100)))];
    assertEqual(first.length, 2, "two starts in the first window");
    for (const c of first) assertEqual(await a.complete(c, null, T + 200), true, "complete");
    assertEqual((await b.claim(req(5, T + 500))).length, 0, "no third start within the window, though none runs");
    const wake = await a.nextWakeAt(["default"], T + 500);
    assertEqual(wake, T + 1_000, "nextWakeAt is the first instant a start is allowed");
    const c3 = await b.claim(req(5, T + 1_000));
    assertEqual(c3.length, 1, "the first start left the window at T+1000");
    const c4 = await a.claim(req(5, T + 1_100));
    assertEqual(c4.length, 1, "the second left at T+1100");
    assertEqual((await a.claim(req(5, T + 1_500))).length, 0, "then the window is full again");
    assertEqual((await b.claim(req(5, T + 2_000))).length, 1, "the last job at T+2000");
    assertEqual(c3[0]!.job.rateLimit?.key, "api", "claimed job carries its rate limit");
  });

  it("flow control: a rate-limited key does not hold back other jobs", async (q) => {
    const rateLimit = { key: "slow", limit: 1, periodMs: 60_000 };
    const limited = Array.from({ length: 20 }, () => makeJob({ rateLimit, priority: 5 }));
    const plain = Array.from({ length: 3 }, () => makeJob());
    await q.enqueue([...limited, ...plain]);
    const claimed = await q.claim(req(10, T));
    assertEqual(claimed.length, 4, "one limited start and every plain job");
    assertEqual(claimed.filter((c) => c.job.rateLimit).length, 1, "one limited start");
    for (const c of claimed) await q.complete(c, null, T + 1);
    assertEqual(await q.nextWakeAt(["default"], T + 2), T + 60_000, "sleep until the window moves on");
  });

  it("flow control: debounce replaces a waiting job's payload and moves its due time, capped by maxDelayMs", async (q) => {
    const first = debounced("doc-7", T, { v: 1 }, 1_000, 3_000);
    const [r1] = await q.enqueue([first]);
    assertEqual(r1?.created, true, "first one created");
    const [r2] = await q.enqueue([debounced("doc-7", T + 800, { v: 2 }, 1_000, 3_000)]);
    assertEqual(r2?.created, false, "second one debounced");
    assertEqual(r2?.job.id, first.id, "same job");
    assertDeepEqual(r2?.job.payload, { v: 2 }, "new payload");
    assertEqual(r2?.job.runAt.getTime(), T + 1_800, "due now + delayMs");
    const [r3] = await q.enqueue([debounced("doc-7", T + 2_500, { v: 3 }, 1_000, 3_000)]);
    assertEqual(r3?.job.id, first.id, "still the same job");
    assertEqual(r3?.job.runAt.getTime(), T + 3_000, "never past first creation + maxDelayMs");
    assertEqual((await q.claim(req(5, T + 2_999))).length, 0, "not due yet");
    assertEqual(await q.nextWakeAt(["default"], T + 2_999), T + 3_000, "nextWakeAt is the moved due time");
    const claimed = await q.claim(req(5, T + 3_000));
    assertDeepEqual(ids(claimed), [first.id], "one job runs");
    assertDeepEqual(claimed[0]!.job.payload, { v: 3 }, "with the last payload");
    const stored = await q.get(first.id);
    assertEqual(stored?.createdAt.getTime(), T, "creation time kept");
  });

  it("flow control: a running debounced job is left alone and a new one is created", async (q) => {
    const first = debounced("doc-8", T, { v: 1 }, 0);
    await q.enqueue([first]);
    const [c] = await q.claim(req(1, T));
    assertEqual(c?.jobId, first.id, "claimed");
    const second = debounced("doc-8", T + 10, { v: 2 }, 500);
    const [r] = await q.enqueue([second]);
    assertEqual(r?.created, true, "a new job");
    assertEqual(r?.job.id, second.id, "with its own id");
    assertDeepEqual((await q.get(first.id))?.payload, { v: 1 }, "running job untouched");
    assertEqual((await q.get(first.id))?.status, "running", "still running");
    const [r2] = await q.enqueue([debounced("doc-8", T + 20, { v: 3 }, 500)]);
    assertEqual(r2?.job.id, second.id, "the waiting one takes the next");
    assertEqual(r2?.job.runAt.getTime(), T + 520, "due at its now + delayMs");
  });

  it("flow control: debounce keys are per queue and do not touch other keys", async (q) => {
    const a = debounced("k", T, { q: "default" });
    const b = { ...debounced("k", T, { q: "other" }), queueName: "other" };
    const c = debounced("k2", T, { q: "default2" });
    const results = await q.enqueue([a, b, c]);
    assert(results.every((r) => r.created), "three jobs: another queue or another key is another job");
  });

  withConsumers("concurrent claims by several consumers never put a key over its limit", async (a, b) => {
    const keys = ["x", "y", "z"];
    const jobs = Array.from({ length: 60 }, (_, i) => keyed(keys[i % 3]!, 2));
    await a.enqueue(jobs);
    const running = new Map<string, ClaimedJob>();
    for (let round = 0; round < 12; round++) {
      const now = T + round * 10;
      const batches = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).claim(req(1 + (i % 3), now, LEASE, `w${i}`))));
      for (const c of batches.flat()) {
        assert(!running.has(c.jobId), `job ${c.jobId} claimed twice`);
        running.set(c.jobId, c);
      }
      const perKey = new Map<string, number>();
      for (const c of running.values()) perKey.set(c.job.concurrencyKey!, (perKey.get(c.job.concurrencyKey!) ?? 0) + 1);
      for (const [key, n] of perKey) assert(n <= 2, `key ${key} has ${n} running jobs at round ${round}`);
      // Finish one running job per key, so every round has work to hand out.
      for (const key of keys) {
        const done = [...running.values()].find((c) => c.job.concurrencyKey === key);
        if (done) {
          assertEqual(await (round % 2 ? a : b).complete(done, null, now + 5), true, "complete");
          running.delete(done.jobId);
        }
      }
    }
  });
}
