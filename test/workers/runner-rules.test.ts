/**
 * The shared runner rules (test/shared/runner-rules.ts) against the Durable Object's alarm in
 * workerd: jobs run in the alarm of a real JobQueueDurableObject, with the handlers, logger and
 * event target given to createWorker (which, as in a deployed script, installs them for every
 * object of this isolate).
 */
import { env, runDurableObjectAlarm } from "cloudflare:test";
import { JobEvent, JobEventType } from "../../src/core/index.ts";
import { DurableObjectJobQueue } from "../../src/drivers/durable-object/index.ts";
import { createWorker } from "../../runtimes/cloudflare/index.ts";
import { getAlarmRuntime, setAlarmRuntime } from "../../runtimes/cloudflare/registry.ts";
import { runnerRules } from "../shared/runner-rules.ts";

runnerRules("Durable Object alarm", {
  async start({ handlers, logger, events, backoff }) {
    const target = new EventTarget();
    for (const type of Object.values(JobEventType)) target.addEventListener(type, (e) => events(e as JobEvent));
    // The example Worker's runtime comes back afterwards, so other tests in this isolate keep it.
    const previous = getAlarmRuntime();
    createWorker({ handlers, logger, events: target, backoff });
    const queue = new DurableObjectJobQueue({ namespace: env.JOB_QUEUE, name: `rules-${crypto.randomUUID()}` });
    return {
      async enqueue(job) {
        await queue.enqueue([job]);
      },
      async settle(id, status) {
        // Bounded only so a broken build fails instead of hanging; no assertion depends on time.
        for (let i = 0; i < 500; i++) {
          const job = await queue.get(id);
          if (job?.status === status) return job;
          // The alarm also fires on its own; running it here only saves the wait.
          await runDurableObjectAlarm(queue.stub(queue.shardFor(job?.queueName ?? "default")) as never);
          await new Promise((r) => setTimeout(r, 10));
        }
        throw new Error(`job ${id} never reached ${status}: ${JSON.stringify(await queue.get(id))}`);
      },
      stop: async () => {
        if (previous) setAlarmRuntime(previous);
      },
    };
  },
});
