/**
 * Why a waiting job is not running, for the dashboard's job view: its queue is paused, it is not
 * due yet, its concurrency key's slots are taken, its rate limit's window is full, or nothing holds
 * it (it waits for a free worker). Read through the queue port alone, so it works on every store;
 * the key and rate checks read the store's jobs, bounded by `scanLimit`, which makes them
 * estimates on a store with more jobs than that (the store itself enforces the limits exactly).
 */
import { JobStatus, isWaiting, type Job, type JobQueue } from "../core/index.ts";
import { rateAllowedAt } from "../core/transitions.ts";

/** The answer of {@link whyWaiting}; times are ISO strings, as the API sends them. */
export type WaitingReason =
  | { reason: "queue_paused"; queue: string }
  | { reason: "scheduled"; until: string }
  | { reason: "key_busy"; key: string; running: number; limit: number; holders: string[] }
  | { reason: "rate_limited"; key: string; starts: number; limit: number; periodMs: number; until: string }
  | { reason: "ready" };

/** Statuses a job can hold after a start (a start counts in a rate window whatever came of it). */
const STARTED = [JobStatus.RUNNING, JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.RETRYING, JobStatus.DEAD_LETTER] as const;

/**
 * The first reason that holds `job` back at `now`, in the order a claim meets them; null when the
 * job is not waiting (running or finished).
 */
export async function whyWaiting(queue: JobQueue, job: Job, now: number, scanLimit = 10_000): Promise<WaitingReason | null> {
  if (!isWaiting(job.status)) return null;
  const stats = await queue.stats();
  if ((stats.paused ?? []).includes(job.queueName)) return { reason: "queue_paused", queue: job.queueName };
  if (job.runAt.getTime() > now) return { reason: "scheduled", until: job.runAt.toISOString() };
  if (job.concurrencyKey !== undefined) {
    const limit = job.concurrencyLimit ?? 1;
    const holders = (await queue.list({ status: JobStatus.RUNNING, limit: scanLimit })).filter((j) => j.concurrencyKey === job.concurrencyKey);
    if (holders.length >= limit) return { reason: "key_busy", key: job.concurrencyKey, running: holders.length, limit, holders: holders.map((j) => j.id) };
  }
  if (job.rateLimit !== undefined) {
    const { key, limit, periodMs } = job.rateLimit;
    const starts: number[] = [];
    for (const status of STARTED) {
      for (const j of await queue.list({ status, limit: scanLimit })) {
        const at = j.startedAt?.getTime();
        if (j.id !== job.id && j.rateLimit?.key === key && at !== undefined && at > now - periodMs && at <= now) starts.push(at);
      }
    }
    starts.sort((a, b) => a - b);
    const until = rateAllowedAt(starts, 0, limit, periodMs, now);
    if (until !== null) return { reason: "rate_limited", key, starts: starts.length, limit, periodMs, until: new Date(until).toISOString() };
  }
  return { reason: "ready" };
}
