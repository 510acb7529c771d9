/**
 * The webhook body check has a hand-written fast path for the usual valid body; it must decide
 * exactly as the valibot schema does. Random bodies near the edges of every rule check that.
 */
import * as v from "valibot";
import { describe, expect, test } from "vitest";
import { JobRequestSchema, parseJobRequest } from "../../src/triggers/webhook/body.ts";

// A small seeded generator, so a failure can be replayed.
function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

const candidates: Record<string, unknown[]> = {
  job_type: ["email.send", "", "x".repeat(200), "x".repeat(201), 7, null, undefined],
  payload: [{ a: 1 }, [1], "s", 0, null, false, undefined],
  queue_name: ["default", "", "q".repeat(512), "q".repeat(513), 3, null, undefined],
  idempotency_key: ["k-1", "", "k".repeat(513), {}, null, undefined],
  priority: [0, -5, 10, 1.5, Number.MAX_SAFE_INTEGER + 2, "1", null, undefined],
  delay_ms: [0, 1000, -1, 0.5, null, undefined],
  max_retries: [0, 3, -1, 2.5, "3", null, undefined],
  timeout_ms: [1, 0, 250, -3, null, undefined],
  scheduled_at: ["2026-01-31T09:00:00Z", "2026-01-31T09:00:00+02:00", "2026-01-31T09:00:00", "2026-13-45T99:00:00Z", "tomorrow", 5, null, undefined],
  metadata: [{ a: 1 }, {}, [1], "m", null, undefined],
  extra: [1, undefined, undefined, undefined, undefined, undefined],
};

describe("parseJobRequest agrees with JobRequestSchema", () => {
  test("on 20,000 random bodies: same decision, same output", () => {
    const next = rng(0x5eed);
    const pick = <T>(xs: T[]) => xs[Math.floor(next() * xs.length)]!;
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      const body: Record<string, unknown> = {};
      for (const [k, xs] of Object.entries(candidates)) {
        // Most fields absent most of the time, so plenty of bodies are valid.
        if (next() < 0.6) continue;
        const x = pick(xs);
        if (x !== undefined || next() < 0.3) body[k] = x;
      }
      if (next() < 0.9) body.job_type ??= "email.send";
      if (next() < 0.9 && !("payload" in body)) body.payload = { n: i };
      const ours = parseJobRequest(body);
      const theirs = v.safeParse(JobRequestSchema, body, { abortPipeEarly: true });
      expect({ i, ok: ours.ok }).toEqual({ i, ok: theirs.success });
      if (ours.ok && theirs.success) {
        expect(ours.value).toEqual(theirs.output);
        accepted++;
      }
    }
    // Both branches must be exercised for the comparison to mean anything.
    expect(accepted).toBeGreaterThan(2_000);
    expect(accepted).toBeLessThan(18_000);
  });
});
