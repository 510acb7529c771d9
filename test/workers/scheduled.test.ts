/** The Worker's scheduled() handler: one job per cron tick, however often the tick is delivered. */
import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from "cloudflare:test";
import { expect, test } from "vitest";
import worker from "../../examples/cloudflare-worker/worker.ts";
import { workerQueue } from "./helpers.ts";

test("scheduled() creates exactly one heartbeat job per tick even when called again for the same tick", async () => {
  // A tick no other test uses: a random minute in 2099.
  const tick = new Date(Date.UTC(2099, 0, 1) + Math.floor(Math.random() * 500_000) * 60_000);
  const key = `schedule:heartbeat:${tick.toISOString()}`;
  for (let i = 0; i < 3; i++) {
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: "* * * * *", scheduledTime: tick.getTime() }), env, ctx);
    await waitOnExecutionContext(ctx);
  }
  const jobs = (await workerQueue().list({ jobType: "echo", limit: 10_000 })).filter((j) => j.idempotencyKey === key);
  expect(jobs.length).toBe(1);
  expect(jobs[0]!.payload).toEqual({ heartbeat: true });
});

test("a cron that no schedule uses creates nothing", async () => {
  const tick = new Date(Date.UTC(2099, 5, 1, 4, 5));
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ cron: "5 4 * * *", scheduledTime: tick.getTime() }), env, ctx);
  await waitOnExecutionContext(ctx);
  const jobs = await workerQueue().list({ limit: 10_000 });
  expect(jobs.filter((j) => j.idempotencyKey?.endsWith(tick.toISOString()))).toEqual([]);
});
