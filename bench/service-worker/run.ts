/**
 * portico-jobs/service-worker against workbox-background-sync, on the same page setup, server and
 * workload, in Debian's Chromium (a persistent profile per scenario and side, so Background Sync
 * works with every tab closed). Prints a markdown table; ratios are portico / Workbox.
 *
 * Scenarios (items are created while offline, then the browser goes back online):
 *   closed tabs   100 items, every tab closed before going online: how many reach the sink
 *   race          100 items, the tab stays open and sends too (portico: the tab's WorkerManager;
 *                 Workbox: the tab replays the same Queue, its fallback for browsers without sync)
 *   ordering      20 items, then 10 urgent ones (portico: priority 10; Workbox has no priorities),
 *                 worker concurrency 1
 *   5xx           20 items; the sink answers 503 to the first attempt of each
 *   stopped       1 item; the worker is stopped (DevTools) while its request is in flight, then a
 *                 second sync event arrives
 *   1,000 items   time from going online to the 1,000th item at the sink, every tab closed
 *
 * Run: npm run bench:service-worker     (CHROMIUM_PATH overrides /usr/bin/chromium)
 */
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { chromium, type BrowserContext, type CDPSession, type Page } from "playwright-core";
import { WORKBOX_QUEUE, type BenchItem } from "./shared.ts";

type Side = "portico" | "workbox";
const SIDES: Side[] = ["portico", "workbox"];
const TAGS: Record<Side, string> = { portico: "portico-jobs", workbox: `workbox-background-sync:${WORKBOX_QUEUE}` };
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"];

// ------------------------------------------------------------------ bundles and server

const bundle = await build({
  entryPoints: { "portico-page": here("./page-portico.ts"), "portico-sw": here("./sw-portico.ts"), "workbox-page": here("./page-workbox.ts"), "workbox-sw": here("./sw-workbox.ts") },
  bundle: true,
  write: false,
  format: "esm",
  target: "es2022",
  platform: "browser",
  outdir: "out",
  define: { "process.env.NODE_ENV": '"production"' },
  tsconfig: here("../../tsconfig.json"),
  logLevel: "silent",
});
const js = (name: string) => bundle.outputFiles.find((f) => f.path.endsWith(`/${name}.js`))!.text;
const files: Record<string, string> = {
  "/portico/page.js": js("portico-page"),
  "/portico/sw.js": js("portico-sw"),
  "/workbox/page.js": js("workbox-page"),
  // A classic script: Workbox's bundle has no top-level await, and classic workers start everywhere.
  "/workbox/sw.js": js("workbox-sw"),
};

interface Post extends BenchItem {
  at: number;
  status: number;
}
const sink = {
  posts: [] as Post[],
  failFirst: false,
  hold: false,
  aborted: 0,
  release: () => undefined as void,
  held: Promise.resolve(),
  reset() {
    this.posts = [];
    this.failFirst = false;
    this.setHold(false);
    this.aborted = 0;
  },
  setHold(on: boolean) {
    if (on && !this.hold) this.held = new Promise<void>((resolve) => (this.release = resolve));
    if (!on && this.hold) this.release();
    this.hold = on;
  },
};

async function onSink(req: IncomingMessage, res: ServerResponse): Promise<void> {
  let body = "";
  for await (const chunk of req) body += chunk;
  const item = JSON.parse(body) as BenchItem;
  const post: Post = { ...item, at: performance.now(), status: 0 };
  sink.posts.push(post);
  if (sink.hold) {
    let gone = false;
    res.once("close", () => {
      if (!res.writableFinished) {
        gone = true;
        sink.aborted++;
      }
    });
    await sink.held;
    if (gone) return void (post.status = 499);
  }
  const firstAttempt = sink.posts.filter((p) => p.id === item.id).length === 1;
  post.status = sink.failFirst && firstAttempt ? 503 : 202;
  res.writeHead(post.status, { "content-type": "application/json" }).end(JSON.stringify({ status: post.status }));
}

const server = createServer((req, res) => {
  const path = new URL(req.url ?? "/", "http://x").pathname;
  if (path === "/sink" && req.method === "POST") return void onSink(req, res).catch(() => res.writeHead(400).end());
  if (files[path]) return void res.writeHead(200, { "content-type": "text/javascript", "cache-control": "no-cache" }).end(files[path]);
  const side = path.split("/")[1];
  if (side === "portico" || side === "workbox") {
    return void res.writeHead(200, { "content-type": "text/html" }).end(`<!doctype html><meta charset="utf-8"><title>${side}</title><script type="module" src="/${side}/page.js"></script>`);
  }
  res.writeHead(404).end();
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

// ------------------------------------------------------------------ browser helpers

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

interface Session {
  context: BrowserContext;
  app: Page;
  cdp: CDPSession;
  dispatchSync(): Promise<void>;
  stopWorker(): Promise<void>;
  close(): Promise<void>;
}

async function open(side: Side, query = ""): Promise<Session> {
  const dir = await mkdtemp(join(tmpdir(), `bench-sw-${side}-`));
  const context = await chromium.launchPersistentContext(dir, { executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium", args, headless: true });
  if (process.env.BENCH_DEBUG) context.on("console", (m) => console.error(`[${side}] ${m.text()}`));
  // A blank page of another origin holds the DevTools session; it runs no jobs.
  const blank = context.pages()[0] ?? (await context.newPage());
  const cdp = await context.newCDPSession(blank);
  let registrationId = "";
  const running = new Set<string>();
  cdp.on("ServiceWorker.workerRegistrationUpdated", ({ registrations }) => {
    for (const r of registrations) if (!r.isDeleted && r.scopeURL === `${origin}/${side}/`) registrationId = r.registrationId;
  });
  cdp.on("ServiceWorker.workerVersionUpdated", ({ versions }) => {
    for (const v of versions) {
      if (v.runningStatus === "running") running.add(v.versionId);
      else running.delete(v.versionId);
    }
  });
  await cdp.send("ServiceWorker.enable");
  const app = await context.newPage();
  await app.goto(`${origin}/${side}/${query}`);
  await app.waitForFunction(() => typeof window.bench === "object");
  // "activated" is reached once the activate event's waitUntil (portico: a run) has settled, so no
  // run of the worker is still under way when a scenario goes offline.
  await app.waitForFunction(async () => (await navigator.serviceWorker.ready).active?.state === "activated");
  await waitFor(() => registrationId !== "", 10_000);
  return {
    context,
    app,
    cdp,
    async dispatchSync() {
      await cdp.send("ServiceWorker.dispatchSyncEvent", { origin, registrationId, tag: TAGS[side], lastChance: false });
    },
    async stopWorker() {
      for (const versionId of [...running]) await cdp.send("ServiceWorker.stopWorker", { versionId });
      // A sync dispatched to a worker that is still stopping would be lost with it.
      await waitFor(() => running.size === 0, 10_000);
    },
    async close() {
      await context.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function items(side: Side, n: number, urgent = 0): BenchItem[] {
  return Array.from({ length: n + urgent }, (_, seq) => ({ id: `${side}-${seq}`, seq, side, ...(seq >= n && { urgent: true }) }));
}

/** Creates the items offline; then (tab closed or not) goes online and waits for delivery. */
async function offlineThenOnline(s: Session, list: BenchItem[], options: { keepTab?: boolean; settleMs?: number; timeoutMs?: number } = {}): Promise<{ startedAt: number }> {
  await s.context.setOffline(true);
  await s.app.waitForFunction(() => !navigator.onLine);
  await s.app.evaluate((l) => window.bench.enqueue(l), list);
  if (options.keepTab) await s.app.evaluate(() => window.bench.startTabWorker());
  else await s.app.close();
  const startedAt = performance.now();
  await s.context.setOffline(false);
  // Going online fires the registered sync; where it does not, DevTools fires one.
  if (!(await waitFor(() => sink.posts.length > 0, 10_000))) await s.dispatchSync();
  const ids = new Set(list.map((i) => i.id));
  await waitFor(() => accepted(list[0]!.side).size >= ids.size, options.timeoutMs ?? 120_000);
  // Give late repeats (a second sender, retries) time to show.
  await new Promise((r) => setTimeout(r, options.settleMs ?? 1_000));
  return { startedAt };
}

const accepted = (side: Side) => new Set(sink.posts.filter((p) => p.side === side && p.status === 202).map((p) => p.id));
const duplicates = (side: Side) => sink.posts.filter((p) => p.side === side && p.status === 202).length - accepted(side).size;

// ------------------------------------------------------------------ scenarios

type Results = Record<Side, string>;
const rows: { name: string; results: Results; ratio?: string }[] = [];

async function perSide(name: string, run: (side: Side) => Promise<string>): Promise<void> {
  // BENCH_ONLY=<words> runs the scenarios whose name contains them.
  if (process.env.BENCH_ONLY && !name.includes(process.env.BENCH_ONLY)) return;
  const results = {} as Results;
  for (const side of SIDES) {
    sink.reset();
    results[side] = await run(side);
  }
  rows.push({ name, results });
}

const browserVersion = await (async () => {
  const b = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium", args, headless: true });
  const v = b.version();
  await b.close();
  return v;
})();

try {
  await perSide("delivered with every tab closed (100 items)", async (side) => {
    const s = await open(side);
    try {
      await offlineThenOnline(s, items(side, 100));
      return `${accepted(side).size}/100, ${duplicates(side)} duplicates`;
    } finally {
      await s.close();
    }
  });

  await perSide("tab + worker race (100 items): items sent twice", async (side) => {
    const s = await open(side);
    try {
      await offlineThenOnline(s, items(side, 100), { keepTab: true, settleMs: 2_000 });
      return `${duplicates(side)} (${accepted(side).size}/100 delivered)`;
    } finally {
      await s.close();
    }
  });

  await perSide("ordering: 20 items then 10 urgent, concurrency 1", async (side) => {
    const s = await open(side, "?concurrency=1");
    try {
      await offlineThenOnline(s, items(side, 20, 10));
      const order = sink.posts.filter((p) => p.status === 202).map((p) => p);
      const urgentFirst = order.slice(0, 10).filter((p) => p.urgent).length;
      const normal = order.filter((p) => !p.urgent).map((p) => p.seq);
      const inOrder = normal.every((seq, i) => i === 0 || seq > normal[i - 1]!);
      return `urgent among the first 10: ${urgentFirst}/10; the rest in creation order: ${inOrder ? "yes" : "no"}`;
    } finally {
      await s.close();
    }
  });

  await perSide("5xx on each item's first attempt (20 items)", async (side) => {
    const s = await open(side);
    try {
      sink.failFirst = true;
      await offlineThenOnline(s, items(side, 20), { timeoutMs: 30_000 });
      const attempts = sink.posts.length;
      return `${accepted(side).size}/20 accepted in the end (${attempts} requests)`;
    } finally {
      await s.close();
    }
  });

  await perSide("worker stopped mid-request, then a second sync (1 item)", async (side) => {
    const s = await open(side, process.env.BENCH_DEBUG ? "?debug" : "");
    try {
      sink.setHold(true);
      await s.context.setOffline(true);
      await s.app.waitForFunction(() => !navigator.onLine);
      await s.app.evaluate((l) => window.bench.enqueue(l), items(side, 1));
      await s.app.close();
      await s.context.setOffline(false);
      if (!(await waitFor(() => sink.posts.length > 0, 10_000))) await s.dispatchSync();
      await waitFor(() => sink.posts.length > 0, 10_000);
      await s.stopWorker();
      await waitFor(() => sink.aborted > 0, 10_000);
      sink.setHold(false);
      // Later sync events (the browser retries a sync whose worker died); a few, in case one
      // reaches a worker that is still shutting down.
      for (let i = 0; i < 5 && accepted(side).size === 0; i++) {
        await s.dispatchSync();
        await waitFor(() => accepted(side).size > 0, 10_000);
      }
      return `${accepted(side).size}/1 delivered (${sink.posts.length} requests)`;
    } finally {
      await s.close();
    }
  });

  const times = {} as Record<Side, number>;
  await perSide("time to deliver 1,000 queued items (tabs closed)", async (side) => {
    const s = await open(side);
    try {
      const { startedAt } = await offlineThenOnline(s, items(side, 1000), { settleMs: 0 });
      const last = Math.max(...sink.posts.filter((p) => p.status === 202).map((p) => p.at));
      times[side] = last - startedAt;
      return `${(times[side] / 1000).toFixed(2)} s (${accepted(side).size}/1000)`;
    } finally {
      await s.close();
    }
  });
  if (times.portico && times.workbox) rows.at(-1)!.ratio = `${(times.portico / times.workbox).toFixed(2)}x`;

  console.log(`Service-worker delivery, portico-jobs vs workbox-background-sync 7.4.1, Chromium ${browserVersion}, ${new Date().toISOString().slice(0, 10)}\n`);
  console.log("| scenario | portico-jobs | workbox-background-sync | ratio |");
  console.log("|---|---|---|---|");
  for (const r of rows) console.log(`| ${r.name} | ${r.results.portico} | ${r.results.workbox} | ${r.ratio ?? "–"} |`);
} finally {
  server.closeAllConnections();
  server.close();
}
