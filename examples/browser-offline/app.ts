/**
 * The page of the offline-first example. Adding an item stores a job in IndexedDB at once
 * (online or not); a WorkerManager in the page sends each job to the server's webhook while the
 * browser is online, retrying with backoff when the server is unreachable or answers 5xx. Every
 * open tab of the page shares the queue and helps drain it; a tab that closes mid-job leaves a
 * lease that runs out, and another tab finishes the job.
 *
 * URL options (for trying things out, and for the tests): ?lease=ms (default 15000),
 * ?retries=n (default 8), ?backoff=ms (first retry delay, default 1000).
 */
import { JobEventType, JobService, WorkerManager, silentLogger, type Job, type JobHandler, type JobStatus } from "portico-jobs";
import { IndexedDBJobQueue } from "portico-jobs/indexeddb";

/** What the page sends for one item. */
interface ItemPayload {
  itemId: string;
  text: string;
}

const params = new URLSearchParams(location.search);
const numberParam = (name: string, fallback: number) => {
  const n = Number(params.get(name));
  return Number.isFinite(n) && n > 0 ? n : fallback;
};
const leaseMs = numberParam("lease", 15_000);
const maxRetries = numberParam("retries", 8);
const backoffMs = numberParam("backoff", 1_000);

/** How many times this tab ran each job (the tests read it to prove nothing ran twice). */
const handledHere = new Map<string, number>();

/**
 * Sends an item to the server. The browser job's id is the webhook-id, so a resend (after a
 * timeout, a reload, or another tab taking over) is recognised by the server as a duplicate.
 */
const sendItem: JobHandler<ItemPayload, { serverJobId: string; status: string }> = {
  jobType: "item.send",
  async handle(job, { signal }) {
    handledHere.set(job.id, (handledHere.get(job.id) ?? 0) + 1);
    // A network error (offline, server down) throws here: a failure that is retried with backoff.
    const res = await fetch("/webhooks/jobs", {
      method: "POST",
      headers: { "content-type": "application/json", "webhook-id": job.id },
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
    return { success: true, resultData: { serverJobId: body?.job_id ?? "", status: body?.status ?? "" } };
  },
};

const queue = new IndexedDBJobQueue({ dbName: "portico-offline-example" });
const jobs = new JobService({ queue, handlers: [sendItem] });
const worker = new WorkerManager({
  queue,
  handlers: [sendItem],
  concurrency: 2,
  leaseMs,
  backoff: { baseMs: backoffMs, maxMs: 15_000 },
  logger: silentLogger,
});

// ------------------------------------------------------------------ online / offline

/** Runs the worker only while online: offline, items just wait (no attempts are used up). */
async function followConnectivity(): Promise<void> {
  if (navigator.onLine) await worker.start();
  else await worker.stop({ graceful: false });
  render();
}
window.addEventListener("online", () => void followConnectivity());
window.addEventListener("offline", () => void followConnectivity());

// ------------------------------------------------------------------ view

const $ = <T extends HTMLElement>(selector: string) => document.querySelector<T>(selector)!;

const COLUMNS: { id: string; title: string; statuses: JobStatus[] }[] = [
  { id: "waiting", title: "Waiting", statuses: ["pending", "scheduled", "retrying"] },
  { id: "running", title: "Running", statuses: ["running"] },
  { id: "done", title: "Done", statuses: ["completed"] },
  { id: "dead", title: "Dead-lettered", statuses: ["dead_letter", "failed"] },
];

let rendering = false;
let renderAgain = false;

/** Redraws the queue view from IndexedDB (coalesced: at most one redraw in flight). */
function render(): void {
  if (rendering) {
    renderAgain = true;
    return;
  }
  rendering = true;
  void draw()
    .catch((error: unknown) => ($("#error").textContent = error instanceof Error ? error.message : String(error)))
    .finally(() => {
      rendering = false;
      if (renderAgain) {
        renderAgain = false;
        render();
      }
    });
}

/** What the server says it has (shown in the footer; unreachable while offline). */
async function serverSummary(): Promise<string> {
  try {
    const res = await fetch("/api/items", { cache: "no-store" });
    const body = (await res.json()) as { items: unknown[]; counters: { duplicates: number }; chaos: { mode: string } };
    const select = $<HTMLSelectElement>("#chaos");
    if (document.activeElement !== select) select.value = body.chaos.mode;
    return `server has ${body.items.length} item(s); ${body.counters.duplicates} repeated delivery(ies) ignored`;
  } catch {
    return "server unreachable";
  }
}

async function draw(): Promise<void> {
  const online = navigator.onLine;
  $("#server").textContent = online ? await serverSummary() : "";
  const status = $("#connection");
  status.textContent = online ? "online" : "offline: new items wait in this browser";
  status.dataset.state = online ? "online" : "offline";
  for (const column of COLUMNS) {
    const lists = await Promise.all(column.statuses.map((s) => queue.list({ status: s, jobType: "item.send", limit: 500 })));
    const list = lists.flat().sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
    const section = $(`#col-${column.id}`);
    section.querySelector(".count")!.textContent = String(list.length);
    section.querySelector("ul")!.replaceChildren(...list.map((job) => row(job, column.id)));
  }
}

function row(job: Job, column: string): HTMLLIElement {
  const li = document.createElement("li");
  li.dataset.jobId = job.id;
  const payload = job.payload as ItemPayload;
  const text = document.createElement("span");
  text.className = "text";
  text.textContent = payload.text;
  const meta = document.createElement("span");
  meta.className = "meta";
  const parts = [`attempts ${job.attempts}`];
  if (job.status === "retrying") parts.push(`retry at ${job.runAt.toLocaleTimeString()}`);
  if (job.errorMessage && column !== "done") parts.push(job.errorMessage);
  meta.textContent = parts.join(" · ");
  li.append(text, meta);
  if (column === "dead") {
    const retry = document.createElement("button");
    retry.textContent = "Retry";
    retry.className = "retry";
    retry.addEventListener("click", () => void jobs.retryJob(job.id).then(render));
    li.append(retry);
  }
  return li;
}

// ------------------------------------------------------------------ actions

async function addItem(text: string): Promise<Job<ItemPayload>> {
  const job = await jobs.createJob<ItemPayload>("item.send", { itemId: crypto.randomUUID(), text }, { maxRetries });
  render();
  return job;
}

$("#add-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = $<HTMLInputElement>("#item-text");
  const text = input.value.trim();
  if (!text) return;
  input.value = "";
  void addItem(text).catch((error: unknown) => ($("#error").textContent = error instanceof Error ? error.message : String(error)));
});

$<HTMLSelectElement>("#chaos").addEventListener("change", (event) => {
  const mode = (event.target as HTMLSelectElement).value;
  void fetch("/api/chaos", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ mode }) });
});

// Redraw on every change this tab makes or hears about, plus a slow tick for other tabs' completions.
for (const type of Object.values(JobEventType)) worker.addEventListener(type, render);
queue.subscribe(render);
setInterval(render, 1_000);

if ("serviceWorker" in navigator) {
  // Caches the page so that it also loads (and reloads) while offline.
  void navigator.serviceWorker.register("/sw.js").catch(() => undefined);
}

await followConnectivity();

/** Handles for the end-to-end tests and for poking around in the console. */
declare global {
  interface Window {
    porticoExample: {
      queue: IndexedDBJobQueue;
      jobs: JobService;
      worker: WorkerManager;
      addItem: (text: string) => Promise<Job<ItemPayload>>;
      handledHere: Map<string, number>;
      ready: true;
    };
  }
}
window.porticoExample = { queue, jobs, worker, addItem, handledHere, ready: true };
document.body.dataset.ready = "true";
