/**
 * The server of the offline-first browser example: serves the page (its TypeScript bundled for
 * the browser with esbuild at start-up) and the webhook that the page's jobs POST to.
 *
 * Each item the page sends becomes one server-side job, keyed by the `webhook-id` header (the
 * browser job's id): a resend after a lost answer, a reload or a closed tab is answered
 * 200 "duplicate" and creates nothing, so the server creates every item at most once.
 *
 * Run: npm run example:browser     (env: PORT, default 3000)
 */
import { readFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { fileURLToPath, pathToFileURL } from "node:url";
import { serve } from "@hono/node-server";
import { build } from "esbuild";
import { Hono } from "hono";
import { JobService, WorkerManager, isDuplicateJob, silentLogger, type JobCreator, type JobHandler, type Logger } from "portico-jobs";
import { MemoryJobQueue } from "portico-jobs/memory";
import { createWebhookTrigger } from "portico-jobs/webhook";

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

/** An item as the server stored it. */
export interface ReceivedItem {
  itemId: string;
  text: string;
  /** The browser job that carried it (the webhook-id). */
  browserJobId: string | null;
  receivedAt: string;
  /** How many times the server-side handler saved it; 1 unless something is wrong. */
  saves: number;
}

/** An item with who sent its accepted delivery: "tab" or "service-worker" (the x-portico-context header). */
export interface ReportedItem extends ReceivedItem {
  deliveredBy: string | null;
}

/** One job POST as the webhook saw it (demo and test aid: who sent what, when, with what answer). */
export interface PostRecord {
  /** The webhook-id header: the browser job's id. */
  jobId: string | null;
  context: string | null;
  /** The x-portico-run header: which service-worker wake-up sent it. */
  run: string | null;
  at: number;
  status: number;
}

/**
 * What the webhook answers, for trying the page's retries: "ok" (normal), "fail" (503 to
 * every job POST), "hold" (never answers until the mode changes). Demo and test aid only.
 */
export type ChaosMode = "ok" | "fail" | "hold";

/** Options of {@link startExampleServer}. */
export interface ExampleServerOptions {
  port?: number;
  hostname?: string;
  logger?: Logger;
}

/** A running example server. */
export interface ExampleServer {
  url: string;
  /** Items created on the server, by item id. */
  items: Map<string, ReceivedItem>;
  /** Every job POST that reached the webhook, including refused and duplicate ones. */
  counters: { posts: number; accepted: number; duplicates: number; failedByChaos: number; held: number; abortedWhileHeld: number };
  /** Every job POST, in arrival order. */
  posts: PostRecord[];
  setChaos(mode: ChaosMode): void;
  /** Delays every job POST by this much (0 by default), to make concurrent tabs visible. */
  setLatency(ms: number): void;
  stop(): Promise<void>;
}

interface ItemPayload {
  itemId: string;
  text: string;
}

/** Starts the server: page, bundle, service worker, webhook and a small JSON API. */
export async function startExampleServer(options: ExampleServerOptions = {}): Promise<ExampleServer> {
  const logger = options.logger ?? silentLogger;
  const items = new Map<string, ReceivedItem>();
  const counters = { posts: 0, accepted: 0, duplicates: 0, failedByChaos: 0, held: 0, abortedWhileHeld: 0 };
  const posts: PostRecord[] = [];
  let chaos: ChaosMode = "ok";
  let latencyMs = 0;
  let releaseHeld: () => void = () => undefined;
  let held = Promise.resolve();

  // The server's own queue and worker: "saving" an item is a server-side job.
  const saveItem: JobHandler<ItemPayload> = {
    jobType: "item.create",
    async handle(job) {
      const { itemId, text } = job.payload;
      const existing = items.get(itemId);
      // The webhook stores the page's webhook-id scoped by how it was authenticated ("open-id:" here, no auth).
      const browserJobId = job.idempotencyKey?.replace(/^open-id:/, "") ?? null;
      if (existing) existing.saves++;
      else items.set(itemId, { itemId, text, browserJobId, receivedAt: new Date().toISOString(), saves: 1 });
      return { success: true };
    },
  };
  const queue = new MemoryJobQueue();
  // Annotated JobService (untyped): the JobCreator below forwards whatever job type it is given.
  const jobs: JobService = new JobService({ queue, handlers: [saveItem] });
  const worker = new WorkerManager({ queue, handlers: [saveItem], logger });
  const creator: JobCreator = {
    async createJob(jobType, payload, createOptions) {
      const job = await jobs.createJob(jobType, payload, createOptions);
      if (isDuplicateJob(job)) counters.duplicates++;
      else counters.accepted++;
      return job;
    },
  };
  // No auth: the page is public and a token in it would be no secret. allowedJobTypes limits
  // what strangers can do; put real auth (a session) in front of a webhook like this in production.
  const webhook = createWebhookTrigger({ jobCreator: creator, prefix: "/webhooks", allowedJobTypes: ["item.create"], logger });

  const [bundle, html] = await Promise.all([bundleBrowserCode(), readFile(here("./index.html"), "utf8")]);

  const app = new Hono();
  app.get("/", (c) => c.html(html));
  app.get("/app.js", (c) => c.body(bundle.app, 200, { "content-type": "text/javascript; charset=utf-8" }));
  // Served from the root so that its scope covers the page.
  app.get("/sw.js", (c) => c.body(bundle.sw, 200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "no-cache" }));
  app.get("/api/items", (c) => c.json({ items: [...items.values()].map(withSender), counters, posts, chaos: { mode: chaos, latencyMs } }));
  // Demo and test aid: what the webhook does next ({ mode?, latencyMs? }), and a reset.
  app.post("/api/chaos", async (c) => {
    const body = (await c.req.json().catch(() => null)) as { mode?: unknown; latencyMs?: unknown } | null;
    const mode = body?.mode ?? chaos;
    if (mode !== "ok" && mode !== "fail" && mode !== "hold") {
      return c.json({ error: { code: "validation_failed", message: 'mode: must be "ok", "fail" or "hold"' } }, 400);
    }
    const latency = body?.latencyMs ?? latencyMs;
    if (typeof latency !== "number" || !Number.isFinite(latency) || latency < 0 || latency > 60_000) {
      return c.json({ error: { code: "validation_failed", message: "latencyMs: must be a number of milliseconds from 0 to 60000" } }, 400);
    }
    setChaos(mode);
    latencyMs = latency;
    return c.json({ mode, latencyMs });
  });
  app.post("/api/reset", (c) => {
    items.clear();
    posts.length = 0;
    for (const k of Object.keys(counters) as (keyof typeof counters)[]) counters[k] = 0;
    setChaos("ok");
    latencyMs = 0;
    return c.json({ reset: true });
  });
  app.use("/webhooks/jobs", async (c, next) => {
    if (c.req.method !== "POST") return next();
    counters.posts++;
    const record: PostRecord = { jobId: c.req.header("webhook-id") ?? null, context: c.req.header("x-portico-context") ?? null, run: c.req.header("x-portico-run") ?? null, at: Date.now(), status: 0 };
    posts.push(record);
    if (latencyMs > 0) await new Promise((r) => setTimeout(r, latencyMs));
    if (chaos === "hold") {
      counters.held++;
      const signal = c.req.raw.signal;
      const onAbort = () => void counters.abortedWhileHeld++;
      signal.addEventListener("abort", onAbort, { once: true });
      await held;
      signal.removeEventListener("abort", onAbort);
      // The tab or worker that sent it is gone (closed, reloaded, stopped): do not act on its request.
      if (signal.aborted) {
        record.status = 408;
        return c.body(null, 408);
      }
    }
    if (chaos === "fail") {
      counters.failedByChaos++;
      record.status = 503;
      return c.json({ error: { code: "unavailable", message: "the example server is simulating an outage" } }, 503);
    }
    await next();
    record.status = c.res.status;
  });
  app.route("/", webhook.app);

  function withSender(item: ReceivedItem): ReportedItem {
    const accepted = posts.find((p) => p.jobId === item.browserJobId && p.status === 202);
    return { ...item, deliveredBy: accepted?.context ?? null };
  }

  function setChaos(mode: ChaosMode): void {
    if (chaos === "hold" && mode !== "hold") releaseHeld();
    if (mode === "hold" && chaos !== "hold") held = new Promise((resolve) => (releaseHeld = resolve));
    chaos = mode;
  }

  await webhook.start();
  await worker.start();
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: options.hostname ?? "127.0.0.1", port: options.port ?? 3000 }, () => resolve(s));
    s.once("error", reject);
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${address.address}:${address.port}`,
    items,
    counters,
    posts,
    setChaos,
    setLatency: (ms) => void (latencyMs = ms),
    async stop() {
      setChaos("ok");
      await webhook.stop();
      await worker.stop();
      await new Promise<void>((done) => {
        server.close(() => done());
        if ("closeAllConnections" in server) server.closeAllConnections();
      });
    },
  };
}

/** Bundles the page script and the service worker (TypeScript, package self-imports) in memory. */
async function bundleBrowserCode(): Promise<{ app: string; sw: string }> {
  const result = await build({
    entryPoints: { app: here("./app.ts"), sw: here("./sw.ts") },
    bundle: true,
    write: false,
    format: "esm",
    target: "es2022",
    platform: "browser",
    outdir: "out",
    tsconfig: here("../../tsconfig.json"),
    logLevel: "silent",
  });
  const text = (name: string) => result.outputFiles.find((f) => f.path.endsWith(`${name}.js`))!.text;
  return { app: text("app"), sw: text("sw") };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const server = await startExampleServer({ port: Number(process.env.PORT ?? 3000) });
  console.log(`Offline-first example: open ${server.url}/ (Ctrl-C to stop)`);
  const shutdown = () => void server.stop().then(() => process.exit(0));
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);
}
