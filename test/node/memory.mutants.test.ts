/**
 * The conformance suite must catch broken drivers. Each mutant below wraps a MemoryJobQueue
 * with one deliberate bug; the suite's tests named for that rule must fail against it.
 */
import { describe, expect, test } from "vitest";
import type { ClaimedJob, FailureOutcome, Job, JobQueue, LeaseRef, RetentionOptions } from "../../src/core/index.ts";
import { MemoryJobQueue } from "../../src/drivers/memory.ts";
import { AssertionError } from "../../src/testing/conformance/assert.ts";
import { runQueueConformance } from "../../src/testing/index.ts";

/** Delegates every port method to a MemoryJobQueue; mutants override one or two. */
class Wrapped implements JobQueue {
  readonly inner: MemoryJobQueue;
  constructor(retention?: RetentionOptions) {
    this.inner = new MemoryJobQueue({ retention });
  }
  enqueue(jobs: readonly Job[]) { return this.inner.enqueue(jobs); }
  claim(r: Parameters<JobQueue["claim"]>[0]) { return this.inner.claim(r); }
  extendLease(l: LeaseRef, ms: number, now: number) { return this.inner.extendLease(l, ms, now); }
  complete(l: LeaseRef, result: unknown, now: number) { return this.inner.complete(l, result, now); }
  fail(l: LeaseRef, m: string, o: FailureOutcome, now: number) { return this.inner.fail(l, m, o, now); }
  release(l: LeaseRef, now: number) { return this.inner.release(l, now); }
  get(id: string) { return this.inner.get(id); }
  cancel(id: string, now: number) { return this.inner.cancel(id, now); }
  retry(id: string, now: number) { return this.inner.retry(id, now); }
  list(f?: Parameters<JobQueue["list"]>[0]) { return this.inner.list(f); }
  stats() { return this.inner.stats(); }
  countWaiting() { return this.inner.countWaiting(); }
  nextWakeAt(q: readonly string[], now: number) { return this.inner.nextWakeAt(q, now); }
  close() { return this.inner.close(); }
}

const mutants: Record<string, { make: (retention?: RetentionOptions) => JobQueue; mustFail: string[] }> = {
  "accepts a stale worker's complete": {
    make: (retention) =>
      new (class extends Wrapped {
        readonly latest = new Map<string, string>();
        override async claim(r: Parameters<JobQueue["claim"]>[0]) {
          const out = await super.claim(r);
          for (const c of out) this.latest.set(c.jobId, c.token);
          return out;
        }
        override complete(l: LeaseRef, result: unknown, now: number) {
          return super.complete({ jobId: l.jobId, token: this.latest.get(l.jobId) ?? l.token }, result, now);
        }
      })(retention),
    mustFail: ["a stale worker's complete, fail, extendLease and release are refused"],
  },
  "claims in reverse order": {
    make: (retention) =>
      new (class extends Wrapped {
        override async claim(r: Parameters<JobQueue["claim"]>[0]) {
          return (await super.claim(r)).reverse();
        }
      })(retention),
    mustFail: ["claim order: higher priority first", "claim order: same priority and due time, insertion order"],
  },
  "ignores due time": {
    make: (retention) =>
      new (class extends Wrapped {
        override claim(r: Parameters<JobQueue["claim"]>[0]) {
          return super.claim({ ...r, now: r.now + 1e9 });
        }
      })(retention),
    mustFail: ["a scheduled job is never claimed before it is due", "a retrying job is not claimable before its retry time"],
  },
  "ignores idempotency keys": {
    make: (retention) =>
      new (class extends Wrapped {
        override enqueue(jobs: readonly Job[]) {
          return super.enqueue(jobs.map((j) => ({ ...j, idempotencyKey: null })));
        }
      })(retention),
    mustFail: ["a repeated idempotency key in the same queue returns the existing job", "concurrent enqueues with one idempotency key create exactly one job"],
  },
  "hands one job to two claims": {
    make: (retention) =>
      new (class extends Wrapped {
        #last: ClaimedJob | null = null;
        override async claim(r: Parameters<JobQueue["claim"]>[0]) {
          const out = await super.claim(r);
          if (out.length === 0 && this.#last) return [this.#last];
          this.#last = out[0] ?? this.#last;
          return out;
        }
      })(retention),
    mustFail: ["concurrent claims never return the same job twice", "a running job is not claimed again while its lease is live"],
  },
  "extendLease does nothing": {
    make: (retention) =>
      new (class extends Wrapped {
        override async extendLease() {
          return true;
        }
      })(retention),
    mustFail: ["extendLease keeps a job from being reclaimed"],
  },
  "release counts a failure": {
    make: (retention) =>
      new (class extends Wrapped {
        override release(l: LeaseRef, now: number) {
          return super.fail(l, "released", { status: "retrying", retryAt: now }, now);
        }
      })(retention),
    mustFail: ["release returns the job to the queue without counting a failure"],
  },
  "nextWakeAt always says now": {
    make: (retention) =>
      new (class extends Wrapped {
        override async nextWakeAt(_q: readonly string[], now: number) {
          return now;
        }
      })(retention),
    mustFail: ["nextWakeAt is null when nothing is waiting or running", "nextWakeAt includes lease expiries and retry times"],
  },
  "cancels anything": {
    make: (retention) =>
      new (class extends Wrapped {
        override async cancel(id: string, now: number) {
          await super.cancel(id, now);
          return true;
        }
      })(retention),
    mustFail: ["cancel works for pending, scheduled and retrying jobs only"],
  },
  "returns dates as strings": {
    make: (retention) =>
      new (class extends Wrapped {
        override async get(id: string) {
          const job = await super.get(id);
          return job && (JSON.parse(JSON.stringify(job)) as Job);
        }
      })(retention),
    mustFail: ["date fields come back as Dates and null fields as null"],
  },
  "list ignores its limit": {
    make: (retention) =>
      new (class extends Wrapped {
        override list(f: Parameters<JobQueue["list"]>[0] = {}) {
          return super.list({ ...f, limit: 10_000 });
        }
      })(retention),
    mustFail: ["list filters by status, queue and job type, and honours limit", "list returns at most 100 jobs by default"],
  },
  "counts a running job as waiting": {
    make: (retention) =>
      new (class extends Wrapped {
        override async countWaiting() {
          return (await super.countWaiting()) + (await super.stats()).byStatus.running;
        }
      })(retention),
    mustFail: ["countWaiting counts pending, scheduled and retrying jobs through every transition"],
  },
  "keeps completed jobs forever": {
    make: () => new Wrapped({ maxCount: 1e9, maxAgeMs: 1e15 }),
    mustFail: ["retention: keeps at most maxCount completed jobs", "retention: drops completed jobs older than maxAgeMs"],
  },
};

/** Collects the suite's tests for one queue factory instead of registering them. */
function collect(make: (retention?: RetentionOptions) => JobQueue): Map<string, () => Promise<void>> {
  const tests = new Map<string, () => Promise<void>>();
  runQueueConformance({
    name: "mutant",
    test: (name, fn) => void tests.set(name, fn),
    createQueue: async () => make(),
    createQueueWithRetention: async (retention) => make(retention),
  });
  return tests;
}

describe("the conformance suite catches broken drivers", () => {
  test("the unmutated wrapper passes every check", async () => {
    const tests = collect((retention) => new Wrapped(retention));
    expect(tests.size).toBeGreaterThan(50);
    for (const [name, fn] of tests) await expect(fn(), name).resolves.toBeUndefined();
  });

  for (const [mutant, { make, mustFail }] of Object.entries(mutants)) {
    test(`mutant "${mutant}" fails: ${mustFail.join("; ")}`, async () => {
      const tests = collect(make);
      for (const wanted of mustFail) {
        const matches = [...tests.entries()].filter(([name]) => name.includes(wanted));
        expect(matches, `a suite test named like "${wanted}"`).toHaveLength(1);
        const error = await matches[0]![1]().then(
          () => null,
          (e: unknown) => e,
        );
        expect(error, `"${wanted}" should fail against "${mutant}"`).toBeInstanceOf(AssertionError);
      }
    });
  }
});
