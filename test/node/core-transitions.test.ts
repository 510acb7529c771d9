/**
 * The lifecycle functions every object-keeping driver applies (src/core/transitions.ts), the one
 * handler-list normaliser, and stats folding that treats any queue name as data.
 */
import { describe, expect, test } from "vitest";
import * as T from "../../src/core/transitions.ts";
import { handlerMap } from "../../src/core/handlers.ts";
import type { JobHandler } from "../../src/core/index.ts";
import { MemoryJobQueue } from "../../src/drivers/memory.ts";
import { BASE_TIME, makeJob } from "../../src/testing/conformance/fixtures.ts";

const state = (overrides = {}) => ({ job: makeJob(overrides), token: null as string | null, leaseExpiresAt: 0 });

describe("transitions", () => {
  test("claim, extend, complete: RUNNING under the token, one attempt, then COMPLETED with the token dropped", () => {
    const s = state();
    T.claim(s, "t1", BASE_TIME, 1_000);
    expect(s.job).toMatchObject({ status: "running", attempts: 1, startedAt: new Date(BASE_TIME) });
    expect(T.holdsLease(s, { jobId: s.job.id, token: "t1" })).toBe(true);
    expect(T.holdsLease(s, { jobId: s.job.id, token: "t0" })).toBe(false);
    expect(T.holdsLease(s, { jobId: "other", token: "t1" })).toBe(false);
    expect(T.leaseExpired(s, BASE_TIME + 999)).toBe(false);
    T.extendLease(s, BASE_TIME + 500, 1_000);
    expect(T.leaseExpired(s, BASE_TIME + 1_499)).toBe(false);
    expect(T.leaseExpired(s, BASE_TIME + 1_500)).toBe(true);
    T.complete(s, undefined, BASE_TIME + 2_000);
    expect(s.job).toMatchObject({ status: "completed", result: null, completedAt: new Date(BASE_TIME + 2_000) });
    expect(s.token).toBeNull();
    expect(T.holdsLease(s, { jobId: s.job.id, token: "t1" })).toBe(false);
    expect(T.isRetained(s.job.status)).toBe(true);
  });

  test("fail retrying counts a retry and moves the due time; fail dead_letter keeps it; both drop the token", () => {
    const s = state();
    T.claim(s, "t", BASE_TIME, 1_000);
    T.fail(s, "boom", { status: "retrying", retryAt: BASE_TIME + 50 }, BASE_TIME + 10);
    expect(s.job).toMatchObject({ status: "retrying", retryCount: 1, errorMessage: "boom", runAt: new Date(BASE_TIME + 50) });
    expect(T.becameClaimable(s.job)).toBe(true);
    T.claim(s, "t2", BASE_TIME + 60, 1_000);
    T.fail(s, "again", { status: "dead_letter" }, BASE_TIME + 70);
    expect(s.job).toMatchObject({ status: "dead_letter", retryCount: 1, runAt: new Date(BASE_TIME + 50), attempts: 2 });
    expect(s.token).toBeNull();
    expect(T.becameClaimable(s.job)).toBe(false);
    expect(T.isRetained(s.job.status)).toBe(false);
    expect(T.canRedrive(s.job)).toBe(true);
    T.redrive(s, BASE_TIME + 80);
    expect(s.job).toMatchObject({ status: "pending", retryCount: 0, attempts: 0, runAt: new Date(BASE_TIME + 80) });
  });

  test("release hands the attempt back; cancel applies only to waiting jobs", () => {
    const s = state();
    T.claim(s, "t", BASE_TIME, 1_000);
    expect(T.canCancel(s.job)).toBe(false);
    T.release(s);
    expect(s.job).toMatchObject({ status: "pending", attempts: 0, startedAt: null });
    expect(s.token).toBeNull();
    expect(T.canCancel(s.job)).toBe(true);
    T.cancel(s);
    expect(s.job.status).toBe("cancelled");
    expect(T.canRedrive(s.job)).toBe(false);
  });

  test("foldStats sums triples per queue, keeps a queue named __proto__ as an own key, and leaves Object.prototype alone", () => {
    const stats = T.foldStats([
      ["__proto__", "pending", 2],
      ["constructor", "running", 1],
      ["__proto__", "pending", 1],
    ]);
    expect(Object.keys(stats.byQueue).sort()).toEqual(["__proto__", "constructor"]);
    expect(stats.byQueue["__proto__"]!.pending).toBe(3);
    expect(stats.byStatus.pending).toBe(3);
    expect(stats.total).toBe(4);
    expect(JSON.parse(JSON.stringify(stats)).byQueue.__proto__.pending).toBe(3);
    expect(structuredClone(stats).byQueue["__proto__"]!.pending).toBe(3);
    expect(({} as Record<string, unknown>).pending).toBeUndefined();
  });

  test("a memory queue named __proto__ shows in stats (it set the object's prototype before)", async () => {
    const q = new MemoryJobQueue();
    await q.enqueue([makeJob({ queueName: "__proto__" }), makeJob()]);
    const stats = await q.stats();
    expect(Object.keys(stats.byQueue).sort()).toEqual(["__proto__", "default"]);
    expect(JSON.parse(JSON.stringify(stats)).byQueue.__proto__.pending).toBe(1);
  });
});

describe("handlerMap", () => {
  const h = (jobType: string): JobHandler => ({ jobType, handle: async () => ({ success: true }) });
  test("a list is keyed by jobType, a record by its own keys", () => {
    const a = h("a");
    expect([...handlerMap([a, h("b")]).keys()]).toEqual(["a", "b"]);
    const byKey = handlerMap({ "mail.send": a });
    expect([...byKey.keys()]).toEqual(["mail.send"]);
    expect(byKey.get("mail.send")).toBe(a);
    expect(byKey.has("a")).toBe(false);
  });
});
