/**
 * Requests/s of POST /webhooks/jobs (body limit, auth, JSON parse and body validation, enqueue into
 * a MemoryJobQueue via JobService) against a bare Hono route answering 202, on one
 * @hono/node-server over loopback, in this process. Variants run in a shuffled order in each of several rounds so
 * that machine noise hits all of them alike; each ratio is taken within a round (against that
 * round's bare run) and the median over rounds is reported.
 * Run: npx tsx bench/webhook.ts   (BENCH_SECONDS per run, default 0.5; BENCH_ROUNDS, default 8;
 * BENCH_CONCURRENCY keep-alive connections, default 16)
 */
import { Agent, request } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { JobService, silentLogger, type Job, type JobCreator } from "../src/core/index.ts";
import { MemoryJobQueue } from "../src/drivers/memory.ts";
import { createWebhookTrigger, signWebhook } from "../src/triggers/webhook/index.ts";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 0.5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 8);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const TOKEN = "bench-token";
const SECRET = `whsec_${btoa("bench-secret-0123456789abcdef!!")}`;

/**
 * Delegates to the current JobService; each timed run gets a fresh MemoryJobQueue so that jobs
 * retained by earlier runs (nothing consumes them here) do not slow later runs down.
 */
let service = new JobService({ queue: new MemoryJobQueue() });
const freshStore = () => void (service = new JobService({ queue: new MemoryJobQueue() }));
const viaService: JobCreator = { createJob: (type, payload, options) => service.createJob(type, payload, options) };
// Isolates the trigger's own cost: accepts everything, stores nothing.
let stubSeq = 0;
const noopCreator: JobCreator = { createJob: async (jobType, payload) => ({ id: `stub-${stubSeq++}`, jobType, payload }) as Job<never> };

function makeTrigger(jobCreator: JobCreator, auth?: { bearerToken?: string; signingSecrets?: string[] }) {
  return createWebhookTrigger({ jobCreator, auth, logger: silentLogger, allowedJobTypes: ["email.send"] });
}

/** One @hono/node-server per app, all in this process, so each app is served exactly as a host would. */
async function listen(app: { fetch: (r: Request) => Response | Promise<Response> }): Promise<{ port: number; server: ReturnType<typeof serve> }> {
  return new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve({ port: (s.address() as AddressInfo).port, server: s }));
  });
}

const bare = new Hono();
bare.post("/webhooks/jobs", (c) => c.json({ status: "accepted" }, 202));
// A second reference: the least any real handler does, reading and parsing the body.
const bareJson = new Hono();
bareJson.post("/webhooks/jobs", async (c) => {
  await c.req.json();
  return c.json({ status: "accepted" }, 202);
});
const triggers = {
  noop: makeTrigger(noopCreator),
  open: makeTrigger(viaService),
  bearer: makeTrigger(viaService, { bearerToken: TOKEN }),
  signed: makeTrigger(viaService, { signingSecrets: [SECRET] }),
};
for (const t of Object.values(triggers)) await t.start();
const servers = {
  bare: await listen(bare),
  bareJson: await listen(bareJson),
  noop: await listen(triggers.noop.app),
  open: await listen(triggers.open.app),
  bearer: await listen(triggers.bearer.app),
  signed: await listen(triggers.signed.app),
};
const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

let seq = 0;
const jobBody = () => JSON.stringify({ job_type: "email.send", payload: { to: `user${seq++}@example.com`, subject: "Welcome" }, priority: 1 });

type Req = { port: number; headers: Record<string, string>; body: string };
interface Variant {
  name: string;
  next(): Req;
  /** Builds what next() serves (e.g. pre-signed requests), outside the timed window. */
  prepare?(count: number): Promise<void>;
}

const json = { "content-type": "application/json" };
let signed: Req[] = [];
const variants: Variant[] = [
  { name: "bare Hono route answering 202 (baseline)", next: () => ({ port: servers.bare.port, headers: json, body: jobBody() }) },
  { name: "bare Hono route that reads the JSON body, answering 202", next: () => ({ port: servers.bareJson.port, headers: json, body: jobBody() }) },
  { name: "webhook trigger, no-op JobCreator (trigger cost only)", next: () => ({ port: servers.noop.port, headers: json, body: jobBody() }) },
  { name: "webhook trigger -> JobService -> MemoryJobQueue, no auth", next: () => ({ port: servers.open.port, headers: json, body: jobBody() }) },
  {
    name: "same, bearer token",
    next: () => ({ port: servers.bearer.port, headers: { ...json, authorization: `Bearer ${TOKEN}` }, body: jobBody() }),
  },
  {
    name: "same, Standard Webhooks signature",
    // Signing is the sender's cost: done before the timed window, one distinct webhook-id per request.
    async prepare(count) {
      signed = [];
      for (let i = 0; i < count; i++) {
        const body = jobBody();
        const h = await signWebhook({ secret: SECRET, id: `msg_${seq}_${i}`, body });
        signed.push({ port: servers.signed.port, headers: { ...json, ...h }, body });
      }
    },
    next: () => signed.pop() ?? { port: servers.signed.port, headers: json, body: "" },
  },
];

function send(r: Req): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers = { ...r.headers, "content-length": String(Buffer.byteLength(r.body)) };
    const req = request({ host: "127.0.0.1", port: r.port, path: "/webhooks/jobs", method: "POST", agent, headers }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end(r.body);
  });
}

interface Run {
  rps: number;
  /** Requests per second of process CPU time (user + system, all threads): robust to other load on the machine. */
  perCpuSecond: number;
  p50: number;
  p99: number;
}

async function load(v: Variant, ms: number, onResponse: (latency: number, status: number) => void): Promise<void> {
  const end = performance.now() + ms;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        const status = await send(v.next());
        onResponse(performance.now() - t, status);
      }
    }),
  );
}

async function run(v: Variant): Promise<Run> {
  freshStore();
  // Unmeasured lead-in: most garbage left by the previous variant (e.g. its dropped store) is
  // collected here rather than billed to this variant.
  await load(v, 150, () => {});
  const cpu = process.cpuUsage();
  const end = performance.now() + SECONDS * 1000;
  const latencies: number[] = [];
  let bad = 0;
  await load(v, end - performance.now(), (latency, status) => {
    latencies.push(latency);
    if (status !== 202) bad++;
  });
  const used = process.cpuUsage(cpu);
  if (bad) throw new Error(`${v.name}: ${bad} responses were not 202`);
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
  return { rps: latencies.length / SECONDS, perCpuSecond: latencies.length / ((used.user + used.system) / 1e6), p50: q(0.5), p99: q(0.99) };
}

// Warm-up: JIT, sockets, first-request costs.
for (const v of variants) {
  await v.prepare?.(2000);
  await Promise.all(Array.from({ length: 2000 / CONCURRENCY }, () => send(v.next())));
}

/** Fisher-Yates with a small seeded generator (mulberry32): reproducible orders. */
function shuffle<T>(items: readonly T[], seed: number): T[] {
  let a = (seed + 1) * 0x9e3779b9;
  const random = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const results = new Map<Variant, Run[]>();
let perRun = 5_000;
for (let round = 0; round < ROUNDS; round++) {
  // A fresh order each round (seeded shuffle), so that order effects, such as collecting the
  // previous run's dropped store, do not always hit the same variant.
  const order = shuffle(variants, round);
  for (const v of order) {
    await v.prepare?.(Math.ceil(perRun * ((SECONDS + 0.15) / SECONDS) * 1.5));
    const r = await run(v);
    perRun = Math.max(perRun, Math.ceil(r.rps * SECONDS));
    results.set(v, [...(results.get(v) ?? []), r]);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const bareRuns = results.get(variants[0]!)!;
console.log(
  `\nPOST /webhooks/jobs on @hono/node-server, 127.0.0.1, ${CONCURRENCY} keep-alive connections, ` +
    `${ROUNDS} shuffled rounds x ${SECONDS} s per server, Node ${process.version}\n`,
);
console.log("| server | req/s | vs bare (wall clock) | req per CPU-second | vs bare (CPU) | p50 latency | p99 latency |");
console.log("|---|---:|---:|---:|---:|---:|---:|");
for (const v of variants) {
  const rs = results.get(v)!;
  const rps = median(rs.map((r) => r.rps));
  const ratio = median(rs.map((r, i) => r.rps / bareRuns[i]!.rps));
  const cpu = median(rs.map((r) => r.perCpuSecond));
  const cpuRatio = median(rs.map((r, i) => r.perCpuSecond / bareRuns[i]!.perCpuSecond));
  const p50 = median(rs.map((r) => r.p50));
  const p99 = median(rs.map((r) => r.p99));
  const n = (x: number) => Math.round(x).toLocaleString("en-US");
  console.log(`| ${v.name} | ${n(rps)} | ${ratio.toFixed(2)}x | ${n(cpu)} | ${cpuRatio.toFixed(2)}x | ${p50.toFixed(2)} ms | ${p99.toFixed(2)} ms |`);
}
console.log("\nRatios are medians of per-round ratios. Client and server share this process (one thread), so each request's cost includes the client's.");
console.log("\nTarget: the JobService rows >= 0.85x the bare route.");

agent.destroy();
for (const { server } of Object.values(servers)) {
  server.close();
  if ("closeAllConnections" in server) server.closeAllConnections();
}
