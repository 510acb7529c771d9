/**
 * `GET {base}/api/events`: server-sent events of job and queue changes, plus fresh stats at an
 * interval when they changed (so changes made by other processes show up too).
 */
import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import { JobEvent, JobEventType, QueueEvent, QueueEventType, type JobService, type QueueStats } from "../core/index.ts";

/** Streams events until the client goes away. */
export function streamEvents(c: Context, jobService: JobService, statsIntervalMs: number, view: (stats: QueueStats) => unknown): Response {
  return streamSSE(c, async (stream) => {
    const queue: { event: string; data: unknown }[] = [];
    let wake: (() => void) | null = null;
    const push = (event: string, data: unknown) => {
      queue.push({ event, data });
      wake?.();
    };
    const onJob = (e: Event) => {
      const job = (e as JobEvent).job;
      push(e.type, { jobId: job.id, status: job.status, queueName: job.queueName });
    };
    const onQueue = (e: Event) => push(e.type, { queueName: (e as QueueEvent).queueName });
    jobService.addEventListener(JobEventType.CANCELLED, onJob);
    jobService.addEventListener(QueueEventType.PAUSED, onQueue);
    jobService.addEventListener(QueueEventType.RESUMED, onQueue);
    const unwatch = jobService.queue.watch?.((change) =>
      push(change.status === "running" ? JobEventType.PROGRESS : "job:changed", { jobId: change.jobId, status: change.status }),
    );
    let lastStats = "";
    const sendStats = async () => {
      try {
        const json = JSON.stringify(view(await jobService.stats()));
        if (json !== lastStats) {
          lastStats = json;
          push("stats", JSON.parse(json));
        }
      } catch {
        // A store hiccup skips one tick; the next one tries again.
      }
    };
    const timer = setInterval(() => void sendStats(), statsIntervalMs);
    let closed = false;
    stream.onAbort(() => {
      closed = true;
      wake?.();
    });
    try {
      await stream.writeSSE({ event: "ready", data: "{}" });
      await sendStats();
      while (!closed) {
        while (queue.length && !closed) {
          const next = queue.shift()!;
          await stream.writeSSE({ event: next.event, data: JSON.stringify(next.data) });
        }
        if (closed) break;
        let idle: ReturnType<typeof setTimeout> | undefined;
        await new Promise<void>((resolve) => {
          wake = resolve;
          // A comment line now and then keeps proxies from closing an idle stream.
          idle = setTimeout(resolve, 15_000);
        });
        if (idle !== undefined) clearTimeout(idle); // Workers types take number | null, not undefined
        wake = null;
        if (!queue.length && !closed) await stream.write(": keep-alive\n\n");
      }
    } finally {
      clearInterval(timer);
      unwatch?.();
      jobService.removeEventListener(JobEventType.CANCELLED, onJob);
      jobService.removeEventListener(QueueEventType.PAUSED, onQueue);
      jobService.removeEventListener(QueueEventType.RESUMED, onQueue);
    }
  });
}
