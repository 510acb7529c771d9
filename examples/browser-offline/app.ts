/**
 * The page of the offline-first example. Adding an item stores a job in IndexedDB at once
 * (online or not); a WorkerManager in the page sends each job to the server's webhook while the
 * browser is online, retrying with backoff when the server is unreachable or answers 5xx. Every
 * open tab of the page shares the queue and helps drain it; a tab that closes mid-job leaves a
 * lease that runs out, and another tab finishes the job.
 *
 * Service-worker mode (?mode=sw, a link in the header): the page's service worker runs the same
 * jobs as well, woken by Background Sync, so items added offline are sent once the browser is
 * back online even if every tab was closed in between. Each done item says who sent it.
 *
 * URL options (for trying things out, and for the tests): ?lease=ms (default 15000),
 * ?retries=n (default 8), ?backoff=ms (first retry delay, default 1000), and in service-worker
 * mode ?syncBudget=ms (how long one sync event may claim jobs) and ?tabWorker=off (the tab sends
 * nothing itself: only the service worker does).
 */
import { JobEventType, JobService, WorkerManager, silentLogger, type Job, type JobStatus } from "portico-jobs";
import { IndexedDBJobQueue } from "portico-jobs/indexeddb";
import { hasBackgroundSync, requestJobSync } from "portico-jobs/service-worker";
import { DB_NAME, readSettings, sendItemHandler, type ItemPayload, type SendResult } from "./send-item.ts";

const params = new URLSearchParams(location.search);
const { leaseMs, maxRetries, backoffMs } = readSettings(params);
/** Service-worker mode (?mode=sw): the service worker runs jobs too, also after the tab is closed. */
const swMode = params.get("mode") === "sw";
/** ?tabWorker=off in service-worker mode: this tab leaves every job to the service worker. */
const tabRunsJobs = !(swMode && params.get("tabWorker") === "off");

/** How many times this tab ran each job (the tests read it to prove nothing ran twice). */
const handledHere = new Map<string, number>();

const sendItem = sendItemHandler("tab", { onRun: (id) => handledHere.set(id, (handledHere.get(id) ?? 0) + 1) });

// In service-worker mode every new job asks for a Background Sync: the service worker sends the
// item once the browser is online, even if every tab has been closed by then.
const queue = new IndexedDBJobQueue({ dbName: DB_NAME, ...(swMode && { onEnqueue: () => requestJobSync() }) });
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
  if (navigator.onLine && tabRunsJobs) await worker.start();
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
  const ranIn = (job.result as SendResult | null)?.ranIn;
  if (job.status === "completed" && ranIn) parts.push(ranIn === "service-worker" ? "sent by the service worker" : "sent by a tab");
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

/**
 * The service worker caches the page so that it also loads (and reloads) while offline; in
 * service-worker mode its URL carries the page's settings, and it runs jobs as well.
 */
async function registerServiceWorker(): Promise<ServiceWorkerRegistration | undefined> {
  if (!("serviceWorker" in navigator)) return undefined;
  const query = new URLSearchParams(swMode ? { mode: "sw", lease: String(leaseMs), backoff: String(backoffMs) } : {});
  for (const name of ["syncBudget"]) if (swMode && params.has(name)) query.set(name, params.get(name)!);
  const url = query.size > 0 ? `/sw.js?${query}` : "/sw.js";
  return navigator.serviceWorker.register(url).catch(() => undefined);
}
const registration = await registerServiceWorker();

const modeBadge = $("#mode");
modeBadge.textContent = swMode ? "service-worker mode: items are also sent with the tab closed" : "tab mode: items are sent while a tab is open";
modeBadge.dataset.state = swMode ? "sw" : "tab";
const modeLink = $<HTMLAnchorElement>("#mode-switch");
const other = new URLSearchParams(params);
if (swMode) other.delete("mode");
else other.set("mode", "sw");
modeLink.href = `${location.pathname}${other.size > 0 ? `?${other}` : ""}`;
modeLink.textContent = swMode ? "switch to tab mode" : "switch to service-worker mode";
if (swMode && registration && !(await hasBackgroundSync(registration))) {
  modeBadge.textContent += " (this browser has no Background Sync: tabs send them)";
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
      registration: ServiceWorkerRegistration | undefined;
      swMode: boolean;
      ready: true;
    };
  }
}
window.porticoExample = { queue, jobs, worker, addItem, handledHere, registration, swMode, ready: true };
document.body.dataset.ready = "true";
