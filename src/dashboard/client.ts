/**
 * The page's script, served at `{base}/assets/app.js` as a plain ES module (no build step).
 * It keeps the bearer token in sessionStorage, calls the JSON API with it, renders with DOM
 * calls only (textContent, never HTML from data), and follows `/api/events` through fetch
 * (EventSource cannot send an Authorization header).
 */
export const CLIENT_SCRIPT = String.raw`
const body = document.body;
const base = body.dataset.base;
const needsAuth = body.dataset.auth === "bearer";
const readOnly = body.dataset.readonly === "true";
const TOKEN_KEY = "portico-jobs.dashboard.token:" + base;
const STATUSES = ["pending", "scheduled", "running", "retrying", "completed", "failed", "dead_letter", "cancelled"];
const FINISHED = new Set(["completed", "failed", "dead_letter", "cancelled"]);
const $ = (id) => document.getElementById(id);
let token = needsAuth ? sessionStorage.getItem(TOKEN_KEY) : null;
let events = null;

class ApiError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

async function api(path, init) {
  const headers = { accept: "application/json" };
  if (init && init.body !== undefined) headers["content-type"] = "application/json";
  if (needsAuth) headers.authorization = "Bearer " + token;
  const res = await fetch(base + "/api" + path, Object.assign({}, init, { headers }));
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const err = data && data.error ? data.error : { code: "http_" + res.status, message: res.statusText };
    if (res.status === 401 && needsAuth) signOut("Signed out: " + err.message);
    throw new ApiError(res.status, err.code, err.message);
  }
  return data;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
  return node;
}

const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  for (const c of children) node.append(c);
  return node;
}

function notice(text) { $("notice").textContent = text || ""; }

function confirmAction(text) {
  const dialog = $("confirm");
  $("confirm-text").textContent = text;
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.returnValue = "";
    dialog.showModal();
  });
}

async function act(text, run) {
  if (!(await confirmAction(text))) return;
  try {
    const out = await run();
    notice(out && typeof out.count === "number" ? out.count + " job(s) affected" : "Done");
  } catch (e) {
    notice("Failed: " + e.message);
  }
  await refresh();
}

// ---- overview
function barChart(values, color, label) {
  const w = 150, hgt = 40, n = values.length || 1, max = Math.max(1, ...values);
  const bw = w / n;
  const bars = values.map((v, i) => {
    const bh = v === 0 ? 0 : Math.max(1, (v / max) * (hgt - 2));
    const r = svg("rect", { x: (i * bw + 0.5).toFixed(1), y: (hgt - bh).toFixed(1), width: Math.max(1, bw - 1).toFixed(1), height: bh.toFixed(1), fill: color });
    r.append(svg("title", {}, String(v)));
    return r;
  });
  return svg("svg", { viewBox: "0 0 " + w + " " + hgt, preserveAspectRatio: "none", role: "img", "aria-label": label }, svg("line", { x1: 0, y1: hgt - 0.5, x2: w, y2: hgt - 0.5, stroke: "currentColor", "stroke-opacity": "0.2" }), ...bars);
}

function lineChart(values, color, label) {
  const w = 150, hgt = 40, n = Math.max(2, values.length);
  const pts = values.map((v, i) => ((i / (n - 1)) * w).toFixed(1) + "," + (hgt - 1 - v * (hgt - 2)).toFixed(1)).join(" ");
  return svg("svg", { viewBox: "0 0 " + w + " " + hgt, preserveAspectRatio: "none", role: "img", "aria-label": label }, svg("line", { x1: 0, y1: hgt - 0.5, x2: w, y2: hgt - 0.5, stroke: "currentColor", "stroke-opacity": "0.2" }), svg("polyline", { points: pts, fill: "none", stroke: color, "stroke-width": 1.5 }));
}

function renderOverview(stats) {
  const root = $("overview");
  root.replaceChildren();
  if (!stats.queues.length) root.append(el("p", { class: "hint" }, "No queues yet."));
  for (const q of stats.queues) {
    const counts = el("div", { class: "counts" }, ...STATUSES.map((s) => el("div", { "data-status": s }, el("b", {}, q.counts[s]), el("span", {}, s.replace("_", " ")))));
    const charts = el("div", { class: "charts" });
    if (q.throughput) {
      const done = q.throughput.map((b) => b.completed);
      const rate = q.throughput.map((b) => (b.completed + b.failed ? b.failed / (b.completed + b.failed) : 0));
      const total = done.reduce((a, b) => a + b, 0);
      const fails = q.throughput.reduce((a, b) => a + b.failed, 0);
      charts.append(
        el("figure", { class: "chart" }, barChart(done, "#2563eb", "completed per minute"), el("figcaption", {}, "completed/min, " + q.throughput.length + " min: " + total)),
        el("figure", { class: "chart" }, lineChart(rate, "#b91c1c", "failure rate"), el("figcaption", {}, "failure rate: " + (total + fails ? Math.round((fails / (total + fails)) * 100) : 0) + "%")),
      );
    } else charts.append(el("p", { class: "hint" }, "This store keeps no throughput counters."));
    const toggle = readOnly ? null : el("button", {
      type: "button", class: q.paused ? "resume" : "pause",
      onclick: () => act((q.paused ? "Resume" : "Pause") + " queue \"" + q.name + "\"?", () => api("/queues/" + encodeURIComponent(q.name) + (q.paused ? "/resume" : "/pause"), { method: "POST" })),
    }, q.paused ? "Resume" : "Pause");
    root.append(el("article", { class: "card queue-card", "data-queue": q.name, "data-paused": String(q.paused) },
      el("h3", {}, el("span", { class: "name" }, q.name), q.paused ? el("span", { class: "badge badge-paused" }, "paused") : null, toggle),
      el("div", { class: "total hint" }, q.total + " job(s) stored"), counts, charts));
  }
}

// ---- job list
const list = { cursors: [null], page: 0, next: null, filter: {} };

function readFilter() {
  return { status: $("f-status").value, queue: $("f-queue").value.trim(), type: $("f-type").value.trim(), search: $("f-search").value.trim() };
}

function fmt(d) { return d ? new Date(d).toLocaleString() : "—"; }

async function loadJobs() {
  const f = list.filter;
  const q = new URLSearchParams();
  if (f.status) q.set("status", f.status);
  if (f.queue) q.set("queue", f.queue);
  if (f.type) q.set("type", f.type);
  const cursor = list.cursors[list.page];
  if (cursor) q.set("cursor", cursor);
  let page;
  if (f.search) {
    page = await api("/jobs?id=" + encodeURIComponent(f.search));
    if (!page.jobs.length) { q.set("key", f.search); page = await api("/jobs?" + q); }
  } else page = await api("/jobs?" + q);
  list.next = page.nextCursor;
  const rows = $("job-rows");
  rows.replaceChildren(...page.jobs.map(jobRow));
  if (!page.jobs.length) rows.append(el("tr", {}, el("td", { colspan: 7, class: "hint" }, "No jobs match.")));
  $("page-info").textContent = "page " + (list.page + 1) + " · " + page.jobs.length + " job(s)";
  $("next-page").disabled = !list.next;
  $("prev-page").disabled = list.page === 0;
  $("first-page").disabled = list.page === 0;
}

function jobRow(job) {
  const actions = el("td", { class: "actions" });
  if (!readOnly && (job.status === "dead_letter" || job.status === "failed")) {
    actions.append(el("button", { type: "button", class: "retry", onclick: () => act("Retry job " + job.id + "?", () => api("/jobs/" + encodeURIComponent(job.id) + "/retry", { method: "POST" })) }, "Retry"));
  }
  if (!readOnly && !FINISHED.has(job.status)) {
    actions.append(el("button", { type: "button", class: "cancel danger-soft", onclick: () => act("Cancel job " + job.id + "?", () => api("/jobs/" + encodeURIComponent(job.id) + "/cancel", { method: "POST" })) }, "Cancel"));
  }
  return el("tr", { "data-id": job.id, "data-status": job.status },
    el("td", {}, el("a", { href: "#job=" + encodeURIComponent(job.id), class: "open", onclick: (e) => { e.preventDefault(); openJob(job.id); } }, el("code", {}, job.id.slice(0, 8)))),
    el("td", {}, job.jobType), el("td", {}, job.queueName), el("td", {}, el("span", { class: "status " + job.status }, job.status)),
    el("td", {}, job.attempts), el("td", {}, fmt(job.createdAt)), actions);
}

// ---- one job
/** The API's reason a waiting job is not running (src/dashboard/waiting.ts), in words. */
function waitingText(w) {
  switch (w.reason) {
    case "queue_paused": return "its queue \"" + w.queue + "\" is paused";
    case "scheduled": return "it is not due until " + fmt(w.until);
    case "key_busy": return "key " + w.key + " is busy: " + w.running + " of " + w.limit + " running (" + w.holders.join(", ") + ")";
    case "rate_limited": return "rate limit " + w.key + ": " + w.starts + " starts in the last " + w.periodMs + " ms (limit " + w.limit + "); next start at " + fmt(w.until);
    default: return "nothing holds it: it waits for a free worker";
  }
}

let openId = null;
async function openJob(id) {
  openId = id;
  let job, waiting;
  try { ({ job, waiting } = await api("/jobs/" + encodeURIComponent(id))); }
  catch (e) { notice("Failed: " + e.message); return; }
  $("jv-id").textContent = job.id;
  const dl = el("dl", {});
  const add = (k, v) => dl.append(el("dt", {}, k), el("dd", { "data-field": k }, v === null || v === undefined ? "—" : v));
  add("status", el("span", { class: "status " + job.status }, job.status));
  add("type", job.jobType); add("queue", job.queueName); add("priority", job.priority);
  add("attempts", job.attempts + " (retries " + job.retryCount + " of " + job.maxRetries + ")");
  add("lease holder", job.status === "running" ? job.leasedBy : null);
  add("idempotency key", job.idempotencyKey); add("created by", job.createdBy);
  // Flow control (docs/flow-control.md): the keys that may hold a waiting job back.
  if (job.concurrencyKey) add("concurrency key", job.concurrencyKey + " (at most " + job.concurrencyLimit + " running)");
  if (job.rateLimit) add("rate limit", job.rateLimit.key + " (" + job.rateLimit.limit + " per " + job.rateLimit.periodMs + " ms)");
  if (job.debounce) add("debounce key", job.debounce.key);
  if (waiting) add("waiting because", waitingText(waiting));
  add("created", fmt(job.createdAt)); add("due", fmt(job.runAt)); add("started", fmt(job.startedAt));
  add("completed", fmt(job.completedAt)); add("failed", fmt(job.failedAt));
  add("error", job.errorMessage);
  const pre = (label, value) => [el("h3", {}, label), el("pre", { "data-field": label }, JSON.stringify(value, null, 2))];
  const buttons = el("p", {});
  if (!readOnly && (job.status === "dead_letter" || job.status === "failed")) buttons.append(el("button", { type: "button", class: "retry", onclick: () => act("Retry job " + job.id + "?", () => api("/jobs/" + encodeURIComponent(job.id) + "/retry", { method: "POST" })) }, "Retry"));
  if (!readOnly && !FINISHED.has(job.status)) buttons.append(el("button", { type: "button", class: "cancel danger-soft", onclick: () => act("Cancel job " + job.id + "?", () => api("/jobs/" + encodeURIComponent(job.id) + "/cancel", { method: "POST" })) }, "Cancel"));
  buttons.append(" ", el("button", { type: "button", onclick: () => { openId = null; $("job-view").hidden = true; } }, "Close"));
  $("jv-body").replaceChildren(dl, ...pre("progress", job.progress), ...pre("payload", job.payload), ...pre("result", job.result), ...pre("metadata", job.metadata), buttons);
  $("job-view").hidden = false;
}

// ---- refresh and live updates
async function refresh() {
  try {
    const [stats] = await Promise.all([api("/stats"), loadJobs()]);
    renderOverview(stats);
    if (openId) await openJob(openId);
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) notice("Failed: " + e.message);
  }
}

let pending = null;
function refreshSoon() {
  if (pending) return;
  pending = setTimeout(() => { pending = null; void refresh(); }, 250);
}

async function follow() {
  const controller = new AbortController();
  events = controller;
  while (events === controller) {
    try {
      const headers = needsAuth ? { authorization: "Bearer " + token } : {};
      const res = await fetch(base + "/api/events", { headers, signal: controller.signal });
      if (!res.ok || !res.body) throw new Error("events: HTTP " + res.status);
      $("live").textContent = "live"; $("live").className = "live on";
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let cut;
        while ((cut = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, cut); buf = buf.slice(cut + 2);
          let type = "message", data = "";
          for (const line of block.split("\n")) {
            if (line.startsWith("event:")) type = line.slice(6).trim();
            else if (line.startsWith("data:")) data += line.slice(5).trim();
          }
          if (type === "stats") renderOverview(JSON.parse(data));
          else if (type !== "ready" && data) refreshSoon();
        }
      }
    } catch (e) {
      if (controller.signal.aborted) return;
    }
    $("live").textContent = "offline"; $("live").className = "live off";
    await new Promise((r) => setTimeout(r, 2000));
  }
}

// ---- sign in / out
function signOut(message) {
  token = null;
  sessionStorage.removeItem(TOKEN_KEY);
  if (events) { events.abort(); events = null; }
  $("app").hidden = true;
  $("signout").hidden = true;
  $("signin").hidden = false;
  $("signin-error").textContent = message || "";
  $("token").focus();
}

async function start() {
  $("app").hidden = false;
  if (needsAuth) { $("signin").hidden = true; $("signout").hidden = false; }
  list.filter = readFilter();
  await refresh();
  void follow();
}

function wire() {
  $("filters").addEventListener("submit", (e) => {
    e.preventDefault();
    list.filter = readFilter(); list.cursors = [null]; list.page = 0;
    void loadJobs().catch((err) => notice("Failed: " + err.message));
  });
  $("next-page").addEventListener("click", () => {
    if (!list.next) return;
    list.cursors[list.page + 1] = list.next; list.page++;
    void loadJobs().catch((err) => notice("Failed: " + err.message));
  });
  $("prev-page").addEventListener("click", () => { if (list.page > 0) { list.page--; void loadJobs(); } });
  $("first-page").addEventListener("click", () => { list.page = 0; void loadJobs(); });
  const bulkFilter = () => {
    const f = readFilter(), out = {};
    if (f.status) out.status = f.status;
    if (f.queue) out.queueName = f.queue;
    if (f.type) out.jobType = f.type;
    return out;
  };
  for (const action of ["retry", "cancel", "purge"]) {
    const button = $("bulk-" + action);
    if (!button) continue;
    button.addEventListener("click", () => {
      const filter = bulkFilter();
      if (!Object.keys(filter).length) { notice("Choose a status, queue or job type first: a bulk action needs a filter."); return; }
      void act(action[0].toUpperCase() + action.slice(1) + " every job matching " + JSON.stringify(filter) + "?", () => api("/jobs/" + action, { method: "POST", body: JSON.stringify(filter) }));
    });
  }
  if (!needsAuth) return;
  $("signout").addEventListener("click", () => signOut(""));
  $("signin-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    token = $("token").value;
    try {
      await api("/config");
      sessionStorage.setItem(TOKEN_KEY, token);
      $("token").value = "";
      $("signin-error").textContent = "";
      await start();
    } catch (err) {
      token = null;
      $("signin-error").textContent = err instanceof ApiError && err.status === 401 ? "That token was refused." : "Sign-in failed: " + err.message;
    }
  });
}

wire();
if (!needsAuth || token) void start();
else signOut("");
`;
