/**
 * The demo service shared by examples/node, examples/deno and examples/bun: two handlers (one of
 * them flaky, so you can watch a retry and a dead-letter), a cron schedule, readable output and a
 * few jobs enqueued at startup. Each runtime's main.ts only reads its environment and calls serve().
 */
import { JobEventType, type JobEvent, type JobHandler, type JobService, type Logger, type WorkerManager } from "portico-jobs";

const sendEmail: JobHandler<{ to: string; subject: string }, { messageId: string }> = {
  jobType: "email.send",
  async handle(job) {
    await new Promise((r) => setTimeout(r, 200)); // pretend to talk to a mail API
    return { success: true, resultData: { messageId: `msg-${job.id.slice(0, 8)}` } };
  },
};

// `failures` makes the first N attempts fail (for the demo); without it, a third of attempts fail.
const buildReport: JobHandler<{ name: string; failures?: number }, { rows: number }> = {
  jobType: "report.build",
  async handle(job) {
    const fails = job.payload.failures !== undefined ? job.retryCount < job.payload.failures : Math.random() < 1 / 3;
    if (fails) throw new Error(`report backend unavailable (attempt ${job.retryCount + 1})`);
    return { success: true, resultData: { rows: 100 + Math.floor(Math.random() * 900) } };
  },
};

/** The options every runtime passes to its serve(), given the bearer token and port. */
export function demoServeOptions(token: string, port: number) {
  return {
    handlers: [sendEmail, buildReport],
    port,
    webhook: { auth: { bearerToken: token } },
    dashboard: { auth: { bearerToken: token } },
    schedules: [{ name: "digest", cron: "*/30 * * * * *", jobType: "report.build", payload: { name: "half-minute digest" } }],
    backoff: { baseMs: 1_000, maxMs: 4_000 },
    logger: readableLogger(),
  };
}

/** Prints job events, the URL and a curl line, then enqueues the demo jobs. */
export async function startDemo(
  app: { url: string; jobService: JobService; workerManager: WorkerManager; dashboardUrl?: string | null },
  token: string,
  tokenFromEnv: boolean,
  store = "./.portico/jobs.sqlite",
): Promise<void> {
  const show = (e: Event, verb: string, detail: string) => {
    const { job } = e as JobEvent;
    console.log(`${time()} ${verb.padEnd(10)} ${job.jobType} ${job.id.slice(0, 8)} ${detail}`);
  };
  const w = app.workerManager;
  w.addEventListener(JobEventType.STARTED, (e) => show(e, "started", JSON.stringify((e as JobEvent).job.payload)));
  w.addEventListener(JobEventType.COMPLETED, (e) => show(e, "completed", `-> ${JSON.stringify((e as JobEvent).result)}`));
  w.addEventListener(JobEventType.RETRYING, (e) => show(e, "retrying", `at ${(e as JobEvent).job.runAt.toISOString().slice(11, 19)}: ${(e as JobEvent).error?.message}`));
  w.addEventListener(JobEventType.DEAD_LETTER, (e) => show(e, "dead", `after ${(e as JobEvent).job.retryCount} retries: ${(e as JobEvent).error?.message}`));

  console.log(`\nportico-jobs is listening on ${app.url} (jobs stored in ${store})`);
  if (app.dashboardUrl) console.log(`Dashboard: ${app.dashboardUrl} (sign in with the bearer token)`);
  if (!tokenFromEnv) console.log(`No PORTICO_TOKEN set: using the local default token "${token}".`);
  console.log(`Try:\n  curl -X POST ${app.url}/webhooks/jobs -H "Authorization: Bearer ${token}" -H "Content-Type: application/json" \\
    -d '{"job_type":"email.send","payload":{"to":"you@example.com","subject":"Hello"}}'`);
  console.log(`  curl ${app.url}/webhooks/jobs/<job_id> -H "Authorization: Bearer ${token}"\n`);

  // A few demo jobs: one succeeds, one succeeds after a retry, one runs out of retries.
  await app.jobService.createJob("email.send", { to: "ada@example.com", subject: "Welcome" });
  await app.jobService.createJob("report.build", { name: "daily sales", failures: 1 });
  await app.jobService.createJob("report.build", { name: "broken export", failures: 99 }, { maxRetries: 2 });
}

/** Prints warnings, errors and a few milestones (job events are printed by startDemo), one line each. */
function readableLogger(): Logger {
  const skip = new Set(["job.retrying", "job.dead_letter"]);
  const info = new Set(["schedule_job_created", "host.signal", "host.stopped"]);
  const line = (level: string) => (event: string, fields: object = {}) => {
    if (level === "debug" || (level === "info" && !info.has(event)) || skip.has(event)) return;
    const details = Object.entries(fields).map(([k, v]) => `${k}=${v instanceof Error ? v.message : typeof v === "string" ? v : JSON.stringify(v)}`);
    console.log(`${time()} ${level === "info" ? "" : `${level.toUpperCase()} `}${event} ${details.join(" ")}`);
  };
  return { debug: line("debug"), info: line("info"), warn: line("warn"), error: line("error") };
}

function time(): string {
  return new Date().toISOString().slice(11, 19);
}
