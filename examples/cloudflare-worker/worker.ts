/**
 * portico-jobs on Cloudflare Workers: a webhook at /webhooks (bearer token from WEBHOOK_TOKEN),
 * an `echo` handler that completes with its payload, and a `heartbeat` schedule every minute.
 * Jobs live in the JobQueueDurableObject and run in its alarm.
 *
 * Run: npx wrangler dev   (root wrangler.toml); the dashboard is at localhost:8787/admin
 *      curl -X POST localhost:8787/webhooks/jobs -H 'authorization: Bearer local-dev-token' \
 *        -H 'content-type: application/json' -d '{"job_type":"echo","payload":{"hi":1}}'
 */
import type { JobHandler } from "portico-jobs";
import { createWorker } from "portico-jobs/cloudflare";

export { JobQueueDurableObject } from "portico-jobs/cloudflare";

interface Env {
  JOB_QUEUE: unknown;
  WEBHOOK_TOKEN: string;
}

const echo: JobHandler<unknown, unknown> = {
  jobType: "echo",
  async handle(job) {
    return { success: true, resultData: job.payload };
  },
};

export default createWorker<Env>({
  handlers: [echo],
  webhook: (env) => ({ prefix: "/webhooks", auth: { bearerToken: env.WEBHOOK_TOKEN } }),
  // The dashboard at /admin, signed in with the same token.
  dashboard: (env) => ({ auth: { bearerToken: env.WEBHOOK_TOKEN } }),
  schedules: [{ name: "heartbeat", cron: "* * * * *", jobType: "echo", payload: { heartbeat: true }, timezone: "UTC" }],
});
