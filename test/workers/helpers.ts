/** Shared helpers of the workerd tests. */
import { env } from "cloudflare:test";
import type { Job } from "../../src/core/index.ts";
import { DurableObjectJobQueue } from "../../src/drivers/durable-object/index.ts";

/** The queue the example Worker itself uses (default name and sharding). */
export const workerQueue = () => new DurableObjectJobQueue({ namespace: env.JOB_QUEUE });

/** The object that holds `queueName` for the example Worker. */
export const workerStub = (queueName: string) => env.JOB_QUEUE.get(env.JOB_QUEUE.idFromName(`portico:${queueName}`));

/**
 * Polls until `check` returns a value. The bound only keeps a broken build from hanging; no
 * assertion depends on how long it took.
 */
export async function eventually<T>(what: string, check: () => Promise<T | null | undefined | false>): Promise<T> {
  for (let i = 0; i < 500; i++) {
    const value = await check();
    if (value) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Polls a job until it reaches `status`. */
export function jobReaches(queue: DurableObjectJobQueue, id: string, status: Job["status"]): Promise<Job> {
  return eventually(`job ${id} to be ${status}`, async () => {
    const job = await queue.get(id);
    return job?.status === status ? job : null;
  });
}
