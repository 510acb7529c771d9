/**
 * A tour of the job model on the in-memory driver: jobs are created, run in priority order,
 * retried with backoff and dead-lettered, then one is re-driven by hand.
 * Run: npm run demo
 */
import { JobService, WorkerManager, JobEventType, silentLogger, type JobEvent, type JobHandler } from "portico-jobs";
import { MemoryJobQueue } from "portico-jobs/memory";

const sendEmail: JobHandler<{ to: string; subject: string }, { messageId: string }> = {
  jobType: "email.send",
  async handle(job) {
    return { success: true, resultData: { messageId: `msg-${job.id.slice(0, 8)}` } };
  },
};

let flakyCalls = 0;
const chargeCard: JobHandler<{ amount: number }> = {
  jobType: "payment.charge",
  async handle(job) {
    if (job.payload.amount < 0) return { success: false, retryable: false, error: new Error("amount must be positive") };
    // The gateway times out twice before it answers: the job succeeds on its third attempt.
    if (++flakyCalls <= 2) throw new Error("payment gateway timed out");
    return { success: true, resultData: { charged: job.payload.amount } };
  },
  async onFailure(job, error) {
    console.log(`  onFailure   ${job.jobType} attempt ${job.retryCount + 1}: ${error.message}`);
  },
};

const syncInventory: JobHandler = {
  jobType: "inventory.sync",
  async handle() {
    throw new Error("warehouse API is down");
  },
};

const handlers = [sendEmail, chargeCard, syncInventory];
const queue = new MemoryJobQueue();
const jobs = new JobService({ queue, handlers });
const worker = new WorkerManager({
  queue,
  handlers,
  queues: ["critical", "default"],
  concurrency: 1,
  backoff: { baseMs: 50, maxMs: 200 },
  logger: silentLogger,
});

const label = (e: Event) => {
  const { job, error } = e as JobEvent;
  return `${job.jobType.padEnd(15)} ${job.id.slice(0, 8)} ${error ? `(${error.message})` : ""}`;
};
worker.addEventListener(JobEventType.STARTED, (e) => console.log(`  started     ${label(e)}`));
worker.addEventListener(JobEventType.COMPLETED, (e) => console.log(`  completed   ${label(e)} -> ${JSON.stringify((e as JobEvent).result)}`));
worker.addEventListener(JobEventType.RETRYING, (e) => console.log(`  retrying    ${label(e)}`));
worker.addEventListener(JobEventType.FAILED, (e) => console.log(`  failed      ${label(e)}`));
worker.addEventListener(JobEventType.DEAD_LETTER, (e) => console.log(`  dead-letter ${label(e)}`));

console.log("Creating jobs (the worker takes queue 'critical' first, then higher priority first):");
await jobs.createJob("email.send", { to: "ada@example.com", subject: "Welcome" }, { priority: 1 });
await jobs.createJob("email.send", { to: "alan@example.com", subject: "Receipt" }, { priority: 5 });
await jobs.createJob("payment.charge", { amount: 42 }, { queueName: "critical", maxRetries: 3 });
await jobs.createJob("payment.charge", { amount: -1 }, { queueName: "critical" });
const doomed = await jobs.createJob("inventory.sync", {}, { maxRetries: 2 });
const again = await jobs.createJob("email.send", { to: "alan@example.com", subject: "Receipt" }, { idempotencyKey: "receipt-7" });
const dup = await jobs.createJob("email.send", { to: "alan@example.com", subject: "Receipt" }, { idempotencyKey: "receipt-7" });
console.log(`  same idempotency key -> same job: ${again.id === dup.id}`);

try {
  await jobs.createJob("email.send", { to: "x@example.com", sentAt: new Date() });
} catch (error) {
  console.log(`  rejected at creation: ${(error as Error).message}`);
}

await worker.start();
const settled = async () => {
  for (;;) {
    const { byStatus } = await jobs.stats();
    if (byStatus.pending + byStatus.scheduled + byStatus.running + byStatus.retrying === 0) return;
    await new Promise((r) => setTimeout(r, 20));
  }
};
await settled();

console.log(`\nRe-driving the dead-lettered job ${doomed.id.slice(0, 8)} after "fixing" the warehouse:`);
syncInventory.handle = async () => ({ success: true, resultData: { synced: 128 } });
await jobs.retryJob(doomed.id);
await settled();
await worker.stop();

const { byStatus } = await jobs.stats();
console.log("\nFinal counts:", JSON.stringify(byStatus));
