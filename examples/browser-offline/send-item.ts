/**
 * The job both the page and the service worker run: send one item to the server's webhook.
 * One module, bundled into both, so a job behaves the same whichever context claims it.
 */
import type { JobHandler } from "portico-jobs";

/** What the page sends for one item. */
export interface ItemPayload {
  itemId: string;
  text: string;
}

/** Which context ran a job: shown in the page and recorded by the server. */
export type RanIn = "tab" | "service-worker";

/** The job's result, kept on the completed job. */
export interface SendResult {
  serverJobId: string;
  status: string;
  ranIn: RanIn;
}

/** The knobs both contexts read from their URL's query (the page passes its own to the worker). */
export interface ExampleSettings {
  leaseMs: number;
  maxRetries: number;
  backoffMs: number;
}

export function readSettings(params: URLSearchParams): ExampleSettings {
  const numberParam = (name: string, fallback: number) => {
    const n = Number(params.get(name));
    return Number.isFinite(n) && n > 0 ? n : fallback;
  };
  return { leaseMs: numberParam("lease", 15_000), maxRetries: numberParam("retries", 8), backoffMs: numberParam("backoff", 1_000) };
}

/** The database both contexts open: one queue per origin. */
export const DB_NAME = "portico-offline-example";

/**
 * Sends an item to the server. The browser job's id is the webhook-id, so a resend (after a
 * timeout, a reload, or another context taking over) is recognised by the server as a duplicate.
 * `onRun` counts runs per job (the tests read it); `runLabel` names the wake-up that ran it.
 */
export function sendItemHandler(ranIn: RanIn, hooks: { onRun?: (jobId: string) => void; runLabel?: () => string } = {}): JobHandler<ItemPayload, SendResult> {
  return {
    jobType: "item.send",
    async handle(job, { signal }) {
      hooks.onRun?.(job.id);
      // A network error (offline, server down) throws here: a failure that is retried with backoff.
      const res = await fetch("/webhooks/jobs", {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "webhook-id": job.id,
          // Demo bookkeeping only: the server shows who delivered each item.
          "x-portico-context": ranIn,
          ...(hooks.runLabel && { "x-portico-run": hooks.runLabel() }),
        },
        body: JSON.stringify({ job_type: "item.create", payload: job.payload }),
        signal,
      });
      const body = (await res.json().catch(() => null)) as { job_id?: string; status?: string; error?: { message?: string } } | null;
      if (res.status >= 500 || res.status === 408 || res.status === 429) {
        throw new Error(`server answered ${res.status}${body?.error?.message ? `: ${body.error.message}` : ""}`);
      }
      if (!res.ok) {
        // The server looked at the item and said no: sending it again would not help.
        return { success: false, retryable: false, error: new Error(`server refused the item (${res.status}): ${body?.error?.message ?? "no reason given"}`) };
      }
      return { success: true, resultData: { serverJobId: body?.job_id ?? "", status: body?.status ?? "", ranIn } };
    },
  };
}
