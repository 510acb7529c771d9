/**
 * The operations section of the conformance suite: pause/resume, cancelling a running job,
 * progress under a lease, bulk retry/cancel/purge by filter and keyset pages (the optional
 * `setPaused`, `progress`, `bulk`, `listPage` and `cancel(..., { running: true })` of the port).
 * Registered for drivers that pass `operations: true`.
 * @module
 */
import type { ClaimedJob, JobQueue } from "../../core/index.ts";
import { assert, assertDeepEqual, assertEqual, assertPresent, show } from "./assert.ts";
import { BASE_TIME, makeJob } from "./fixtures.ts";
import type { ConformanceSuite } from "./options.ts";

const T = BASE_TIME;
const LEASE = 10_000;

const req = (queues: string[], limit: number, now: number, workerId = "worker") => ({ queues, limit, leaseMs: LEASE, workerId, now });

/** The operations port methods, present (the section fails with a clear message when one is missing). */
function ops(q: JobQueue) {
  const { setPaused, progress, bulk, listPage } = q;
  for (const [name, fn] of Object.entries({ setPaused, progress, bulk, listPage })) {
    assert(typeof fn === "function", `the store implements ${name}()`);
  }
  return {
    setPaused: setPaused!.bind(q),
    progress: progress!.bind(q),
    bulk: bulk!.bind(q),
    listPage: listPage!.bind(q),
  };
}

async function claimOne(q: JobQueue, queue: string, now: number): Promise<ClaimedJob> {
  const [c] = await q.claim(req([queue], 1, now));
  assertPresent(c, `a claim in ${queue}`);
  return c;
}

/** Registers the operations tests (when the driver says it implements them). */
export function operationsSection(suite: ConformanceSuite): void {
  const { it, options, dispose } = suite;
  if (!options.operations) return;

  it("operations: a paused queue is skipped by claim and nextWakeAt; enqueue still works; stats list it; resume serves it again", async (q) => {
    const o = ops(q);
    const a = makeJob({ queueName: "a" });
    const b = makeJob({ queueName: "b" });
    await q.enqueue([a, b]);
    assertEqual(await o.setPaused("a", true, T), true, "pause changes the state");
    assertEqual(await o.setPaused("a", true, T), false, "pausing twice changes nothing");
    const late = makeJob({ queueName: "a" });
    await q.enqueue([late]);
    assertEqual((await q.get(late.id))?.status, "pending", "enqueue into a paused queue");
    assertDeepEqual((await q.stats()).paused, ["a"], "stats().paused");
    assertEqual(await q.nextWakeAt(["a"], T), null, "no wake time for a paused queue");
    const claimed = await q.claim(req(["a", "b"], 10, T));
    assertDeepEqual(claimed.map((c) => c.jobId), [b.id], "only the unpaused queue is served");
    assertEqual(await o.setPaused("a", false, T), true, "resume changes the state");
    assertDeepEqual((await q.stats()).paused, [], "stats().paused after resume");
    const after = await q.claim(req(["a"], 10, T + 1));
    assertDeepEqual(after.map((c) => c.jobId).sort(), [a.id, late.id].sort(), "resumed queue served");
  });

  if (options.openSecondHandle) {
    const open = options.openSecondHandle;
    suite.test("operations: a pause through one handle holds for claims through another", async () => {
      const a = await options.createQueue();
      const b = await open(a);
      try {
        const job = makeJob({ queueName: "shared" });
        await a.enqueue([job]);
        await ops(a).setPaused("shared", true, T);
        assertEqual((await b.claim(req(["shared"], 1, T))).length, 0, "the other handle claims nothing");
        await ops(b).setPaused("shared", false, T);
        assertEqual((await a.claim(req(["shared"], 1, T + 1)))[0]?.jobId, job.id, "resumed through the other handle");
      } finally {
        await dispose(b);
        await dispose(a);
      }
    });
  }

  it("operations: cancelling a running job: CANCELLED at once, extendLease says so, complete/fail refused, never claimed again", async (q) => {
    const job = makeJob();
    await q.enqueue([job]);
    const c = await claimOne(q, "default", T);
    assertEqual(await q.cancel(job.id, T + 1), false, "without running: true a running job is not cancelled");
    assertEqual(await q.cancel(job.id, T + 1, { running: true }), true, "cancel running");
    assertEqual((await q.get(job.id))?.status, "cancelled", "status");
    assertEqual(await q.extendLease(c, LEASE, T + 2), "cancelled", "the holder's renewal");
    assertEqual(await q.complete(c, "late", T + 3), false, "complete refused");
    assertEqual(await q.fail(c, "late", { status: "failed" }, T + 3), false, "fail refused");
    const got = await q.get(job.id);
    assertEqual(got?.status, "cancelled", "still cancelled");
    assertEqual(got?.result ?? null, null, "no result stored");
    assertEqual((await q.claim(req(["default"], 1, T + LEASE * 3))).length, 0, "not claimable after the old lease ran out");
    assertEqual(await q.cancel(job.id, T + 4, { running: true }), false, "cancel twice");
  });

  it("operations: progress is stored under the lease and refused without it", async (q) => {
    const o = ops(q);
    const job = makeJob();
    await q.enqueue([job]);
    assertEqual((await q.get(job.id))?.progress ?? null, null, "no progress at first");
    const c = await claimOne(q, "default", T);
    assertEqual(await o.progress(c, 40, T + 1), true, "number");
    assertEqual((await q.get(job.id))?.progress, 40, "stored number");
    assertEqual(await o.progress(c, { step: "upload", done: 3 }, T + 2), true, "object");
    assertDeepEqual((await q.get(job.id))?.progress, { step: "upload", done: 3 }, "stored object");
    assertEqual(await o.progress({ jobId: job.id, token: "forged" }, 99, T + 3), false, "forged token");
    // The lease runs out and another worker claims the job: the first one's report is refused.
    const again = await claimOne(q, "default", T + LEASE + 1);
    assertEqual(await o.progress(c, 99, T + LEASE + 2), false, "stale lease");
    assertDeepEqual((await q.get(job.id))?.progress, { step: "upload", done: 3 }, "unchanged by the stale worker");
    assertEqual(await o.progress(again, 100, T + LEASE + 3), true, "the new holder");
    await q.complete(again, "ok", T + LEASE + 4);
    assertEqual(await o.progress(again, 1, T + LEASE + 5), false, "after completion");
  });

  it("operations: bulk retry, cancel and purge by filter, each returning its count", async (q) => {
    const o = ops(q);
    const dead = [makeJob({ jobType: "x" }), makeJob({ jobType: "x" }), makeJob({ jobType: "y" })];
    await q.enqueue(dead);
    for (const [i, c] of (await q.claim(req(["default"], 3, T))).entries()) await q.fail(c, "boom", { status: i === 2 ? "failed" : "dead_letter" }, T + 1);
    const waiting = [makeJob({ queueName: "w" }), makeJob({ queueName: "w", createdAt: new Date(T + 500) })];
    await q.enqueue(waiting);
    const done = makeJob({ queueName: "done" });
    await q.enqueue([done]);
    await q.complete(await claimOne(q, "done", T + 2), null, T + 3);

    assertEqual(await o.bulk("retry", { status: "dead_letter", jobType: "x" }, T + 10), 2, "retry dead letters of type x");
    for (const j of dead.slice(0, 2)) assertEqual((await q.get(j.id))?.status, "pending", "re-driven");
    assertEqual((await q.get(dead[2]!.id))?.status, "failed", "the failed one is untouched");
    assertEqual(await o.bulk("retry", { jobType: "y" }, T + 10), 1, "retry by type covers FAILED too");
    assertEqual(await o.bulk("cancel", { queueName: "w", olderThan: new Date(T + 100) }, T + 11), 1, "cancel by queue and age");
    assertEqual((await q.get(waiting[0]!.id))?.status, "cancelled", "older one cancelled");
    assertEqual((await q.get(waiting[1]!.id))?.status, "pending", "newer one kept");
    assertEqual(await o.bulk("purge", { queueName: "w" }, T + 12), 1, "purge only finished jobs");
    assertEqual(await q.get(waiting[0]!.id), null, "purged");
    assertPresent(await q.get(waiting[1]!.id), "a waiting job is never purged");
    assertEqual(await o.bulk("purge", { status: "completed" }, T + 13), 1, "purge completed");
    assertEqual(await q.get(done.id), null, "completed job purged");
    const stats = await q.stats();
    assertEqual(stats.total, 4, `stats after the bulk actions: ${show(stats.byStatus)}`);
  });

  it("operations: listPage walks every job once, newest first, in keyset pages; filters apply", async (q) => {
    const o = ops(q);
    const jobs = Array.from({ length: 13 }, (_, i) => makeJob({ jobType: i % 3 === 0 ? "third" : "other", idempotencyKey: `k${i}`, createdAt: new Date(T + i) }));
    for (const j of jobs) await q.enqueue([j]);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    for (;;) {
      const page = await o.listPage({ limit: 4, cursor });
      seen.push(...page.jobs.map((j) => j.id));
      pages++;
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
      assert(pages < 10, "pagination ends");
    }
    assertEqual(pages, 4, "13 jobs in pages of 4");
    assertDeepEqual(seen, jobs.map((j) => j.id).reverse(), "every job once, newest first");
    const thirds = await o.listPage({ jobType: "third", limit: 100 });
    assertDeepEqual(thirds.jobs.map((j) => j.id), jobs.filter((_, i) => i % 3 === 0).map((j) => j.id).reverse(), "by type");
    assertEqual(thirds.nextCursor, null, "one page");
    const byKey = await o.listPage({ idempotencyKey: "k5" });
    assertDeepEqual(byKey.jobs.map((j) => j.id), [jobs[5]!.id], "by idempotency key");
    const first = await o.listPage({ limit: 5 });
    await o.bulk("cancel", { jobType: "other" }, T + 50);
    await o.bulk("purge", { status: "cancelled" }, T + 51);
    const rest = await o.listPage({ limit: 100, cursor: first.nextCursor! });
    assertDeepEqual(rest.jobs.map((j) => j.id), jobs.slice(0, 8).filter((_, i) => i % 3 === 0).map((j) => j.id).reverse(), "a cursor survives removals");
  });
}
