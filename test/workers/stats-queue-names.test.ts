/**
 * In workerd: a queue named "__proto__" is counted as an own key by the Durable Object store and
 * by the client's merge over shards (which used Object.assign, and so set the merged object's
 * prototype instead), and counting it never writes to Object.prototype.
 */
import { env } from "cloudflare:test";
import { expect, test } from "vitest";
import { DurableObjectJobQueue } from "../../src/drivers/durable-object/index.ts";
import { makeJob } from "../../src/testing/conformance/fixtures.ts";

test("durable-object: queues named __proto__ and constructor are counted across shards; Object.prototype stays clean", async () => {
  const q = new DurableObjectJobQueue({ namespace: env.JOB_QUEUE, name: `names-${crypto.randomUUID()}` });
  await q.enqueue([makeJob({ queueName: "__proto__" }), makeJob({ queueName: "__proto__" }), makeJob({ queueName: "constructor" }), makeJob()]);
  const stats = await q.stats();
  expect(Object.keys(stats.byQueue).sort()).toEqual(["__proto__", "constructor", "default"]);
  expect(Object.getOwnPropertyDescriptor(stats.byQueue, "__proto__")?.value.pending).toBe(2);
  expect(stats.total).toBe(4);
  expect(stats.byStatus.pending).toBe(4);
  expect(({} as Record<string, unknown>).pending).toBeUndefined();
});
