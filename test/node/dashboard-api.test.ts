import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { JobService, JobStatus, type Job, type JobQueue } from "../../src/core/index.ts";
import { SqliteJobQueue } from "../../src/drivers/sqlite/index.ts";
import { openSqliteDatabase } from "../../runtimes/node/sqlite.ts";
import { MemoryJobQueue } from "../../src/drivers/memory.ts";
import { createDashboard } from "../../src/dashboard/index.ts";

const TOKEN = "dash-token";
const auth = { authorization: `Bearer ${TOKEN}` };

function setup(extra: { readOnly?: boolean; auth?: false } = {}) {
  const queue = new MemoryJobQueue();
  const jobService = new JobService({ queue });
  const app = createDashboard({ jobService, auth: extra.auth ?? { bearerToken: TOKEN }, readOnly: extra.readOnly, statsIntervalMs: 50 });
  const call = async (path: string, init: RequestInit = {}) => {
    const res = await app.request(`/admin${path}`, { ...init, headers: { ...auth, ...(init.body ? { "content-type": "application/json" } : {}), ...(init.headers as object) } });
    return { status: res.status, body: (await res.json()) as any, res };
  };
  return { queue, jobService, app, call };
}

async function deadLetter(queue: MemoryJobQueue, jobService: JobService, queueName = "default"): Promise<Job> {
  const job = await jobService.createJob("mail", { to: "a" }, { queueName, maxRetries: 0 });
  const [c] = await queue.claim({ queues: [queueName], limit: 1, leaseMs: 10_000, workerId: "w1", now: Date.now() });
  await queue.fail(c!, "boom", { status: "dead_letter" }, Date.now());
  expect(c!.jobId).toBe(job.id);
  return job;
}

describe("dashboard API", () => {
  test("auth is required explicitly; every API call needs the bearer token; errors are JSON with a code", async () => {
    const jobService = new JobService({ queue: new MemoryJobQueue() });
    expect(() => createDashboard({ jobService } as never)).toThrow(/auth is required/);
    expect(() => createDashboard({ jobService, auth: { bearerToken: "" } })).toThrow(/bearerToken/);
    const { app } = setup();
    for (const headers of [{} as Record<string, string>, { authorization: "Bearer wrong" }, { authorization: `Basic ${TOKEN}` }, { authorization: `Bearer ${TOKEN}x` }]) {
      const res = await app.request("/admin/api/stats", { headers });
      expect(res.status).toBe(401);
      expect(((await res.json()) as any).error.code).toBe("unauthorized");
    }
    const ok = await app.request("/admin/api/stats", { headers: auth });
    expect(ok.status).toBe(200);
    const missing = await app.request("/admin/api/nope", { headers: auth });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as any).error.code).toBe("not_found");
  });

  test("the page, its script and stylesheet are served without a token, with a strict CSP; nothing from another origin", async () => {
    const { app } = setup();
    for (const path of ["/admin", "/admin/"]) {
      const res = await app.request(path);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
      const html = await res.text();
      expect(html.startsWith("<!doctype html>")).toBe(true);
      expect(html).toContain('src="/admin/assets/app.js"');
      expect(html).toContain('data-auth="bearer"');
      expect(html).not.toMatch(/https?:\/\//);
    }
    const js = await app.request("/admin/assets/app.js");
    expect(js.headers.get("content-type")).toContain("javascript");
    expect(await js.text()).toContain("sessionStorage");
    expect((await app.request("/admin/assets/app.css")).status).toBe(200);
  });

  test("stats: counts by status per queue, paused queues, throughput buckets", async () => {
    const { queue, jobService, call } = setup();
    await deadLetter(queue, jobService, "emails");
    await jobService.createJob("mail", {});
    await jobService.createJob("mail", {}, { queueName: "emails" });
    await jobService.pauseQueue("reports");
    const { status, body } = await call("/api/stats");
    expect(status).toBe(200);
    const byName = Object.fromEntries(body.queues.map((q: any) => [q.name, q]));
    expect(byName.default.counts.pending).toBe(1);
    expect(byName.emails.counts).toMatchObject({ pending: 1, dead_letter: 1 });
    expect(byName.reports.paused).toBe(true);
    expect(byName.default.paused).toBe(false);
    expect(body.paused).toEqual(["reports"]);
    expect(byName.emails.throughput).toHaveLength(15);
    expect(byName.emails.throughput.reduce((n: number, b: any) => n + b.failed, 0)).toBe(1);
  });

  test("job list: keyset pages newest first cover every job once; filters; bad queries are 400", async () => {
    const { jobService, call } = setup();
    const created: string[] = [];
    for (let i = 0; i < 23; i++) created.push((await jobService.createJob(i % 2 ? "odd" : "even", { i }, { idempotencyKey: `k${i}` })).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const { status, body }: { status: number; body: any } = await call(`/api/jobs?limit=5${cursor ? `&cursor=${cursor}` : ""}`);
      expect(status).toBe(200);
      seen.push(...body.jobs.map((j: Job) => j.id));
      cursor = body.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(5);
    expect(seen).toEqual([...created].reverse());
    const odd = await call("/api/jobs?type=odd&limit=100");
    expect(odd.body.jobs).toHaveLength(11);
    const byKey = await call("/api/jobs?key=k7");
    expect(byKey.body.jobs.map((j: Job) => j.id)).toEqual([created[7]]);
    const byId = await call(`/api/jobs?id=${created[3]}`);
    expect(byId.body.jobs[0].payload).toEqual({ i: 3 });
    for (const q of ["status=bogus", "limit=0", "limit=501", "limit=abc", "colour=red", "queue="]) {
      const bad = await call(`/api/jobs?${q}`);
      expect(bad.status, q).toBe(400);
      expect(bad.body.error.code).toBe("invalid_query");
    }
    const one = await call(`/api/jobs/${created[0]}`);
    expect(one.body.job).toMatchObject({ id: created[0], status: JobStatus.PENDING, progress: null, attempts: 0 });
    expect((await call("/api/jobs/missing")).body.error.code).toBe("job_not_found");
  });

  test("retry and cancel of one job; pause and resume; bulk actions; an empty filter is a 400", async () => {
    const { queue, jobService, call } = setup();
    const dead = await deadLetter(queue, jobService);
    const retried = await call(`/api/jobs/${dead.id}/retry`, { method: "POST" });
    expect(retried.status).toBe(200);
    expect(retried.body.job.status).toBe("pending");
    const again = await call(`/api/jobs/${dead.id}/retry`, { method: "POST" });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("invalid_job_state");
    const cancelled = await call(`/api/jobs/${dead.id}/cancel`, { method: "POST" });
    expect(cancelled.body.job.status).toBe("cancelled");
    expect((await call(`/api/jobs/${dead.id}/cancel`, { method: "POST" })).status).toBe(409);
    expect((await call(`/api/jobs/nope/cancel`, { method: "POST" })).status).toBe(404);

    expect((await call("/api/queues/default/pause", { method: "POST" })).body).toEqual({ queue: "default", paused: true });
    expect((await jobService.stats()).paused).toEqual(["default"]);
    await call("/api/queues/default/resume", { method: "POST" });
    expect((await jobService.stats()).paused).toEqual([]);

    await deadLetter(queue, jobService);
    await deadLetter(queue, jobService);
    for (const body of ["{}", "", "[]", "not json", JSON.stringify({ colour: "red" }), JSON.stringify({ status: "completed" })]) {
      const res = await call("/api/jobs/retry", { method: "POST", body: body || undefined, headers: { "content-type": "application/json" } });
      expect(res.status, body).toBe(400);
      expect(res.body.error.code).toBe("invalid_filter");
    }
    expect((await call("/api/jobs/retry", { method: "POST", body: JSON.stringify({ status: "dead_letter" }) })).body.count).toBe(2);
    expect((await call("/api/jobs/cancel", { method: "POST", body: JSON.stringify({ queueName: "default" }) })).body.count).toBe(2);
    expect((await call("/api/jobs/purge", { method: "POST", body: JSON.stringify({ status: "cancelled" }) })).body.count).toBe(3);
    expect((await jobService.stats()).total).toBe(0);
  });

  test("readOnly refuses every mutation with 403 read_only and changes nothing; reads still work", async () => {
    const { queue, jobService, call, app } = setup({ readOnly: true });
    const dead = await deadLetter(queue, jobService);
    for (const path of [`/api/jobs/${dead.id}/retry`, `/api/jobs/${dead.id}/cancel`, "/api/queues/default/pause", "/api/queues/default/resume", "/api/jobs/retry", "/api/jobs/cancel", "/api/jobs/purge"]) {
      const res = await call(path, { method: "POST", body: JSON.stringify({ status: "dead_letter" }) });
      expect(res.status, path).toBe(403);
      expect(res.body.error.code).toBe("read_only");
    }
    expect((await jobService.getJob(dead.id))?.status).toBe("dead_letter");
    expect((await jobService.stats()).paused).toEqual([]);
    expect((await call("/api/stats")).status).toBe(200);
    const html = await (await app.request("/admin")).text();
    expect(html).toContain('data-readonly="true"');
    expect(html).not.toContain("bulk-purge");
  });

  test("auth: false serves the API without a token; basePath moves everything", async () => {
    const jobService = new JobService({ queue: new MemoryJobQueue() });
    const app = createDashboard({ jobService, auth: false, basePath: "/ops/" });
    expect((await app.request("/ops/api/stats")).status).toBe(200);
    expect(await (await app.request("/ops")).text()).toContain('data-auth="none"');
    expect((await app.request("/admin/api/stats")).status).toBe(404);
  });

  test("events: the stream sends stats, then queue and job events as they happen", async () => {
    const { jobService, app } = setup();
    const res = await app.request("/admin/api/events", { headers: auth });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    const until = async (needle: string) => {
      while (!text.includes(needle)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${needle}: ${text}`);
        text += value;
      }
    };
    await until("event: stats");
    const job = await jobService.createJob("mail", {});
    await jobService.pauseQueue("default");
    await until("event: queue:paused");
    await jobService.cancelJob(job.id);
    await until("event: job:cancelled");
    expect(text).toContain(job.id);
    await reader.cancel();
  });
});

describe("dashboard: why a waiting job is not running", () => {
  const stores: { name: string; open: () => Promise<{ queue: JobQueue; close: () => Promise<void> }> }[] = [
    { name: "memory", open: async () => ({ queue: new MemoryJobQueue(), close: async () => {} }) },
    {
      name: "sqlite file",
      open: async () => {
        const dir = await mkdtemp(join(tmpdir(), "portico-dash-why-"));
        const database = await openSqliteDatabase(join(dir, "jobs.sqlite"));
        const queue = new SqliteJobQueue({ database });
        return {
          queue,
          close: async () => {
            await queue.close();
            database.close();
            await rm(dir, { recursive: true, force: true });
          },
        };
      },
    },
  ];
  for (const store of stores) {
    test(`${store.name}: paused queue, not due, key busy (naming the holder), rate window full (until when), and nothing`, async () => {
      const { queue, close } = await store.open();
      try {
        const jobService = new JobService({ queue });
        const app = createDashboard({ jobService, auth: { bearerToken: TOKEN } });
        const why = async (id: string) => ((await (await app.request(`/admin/api/jobs/${id}`, { headers: auth })).json()) as any).waiting;
        const claimOne = async (queueName: string) => (await queue.claim({ queues: [queueName], limit: 1, leaseMs: 60_000, workerId: "w", now: Date.now() }))[0]!;

        const plain = await jobService.createJob("mail", { n: 1 }, { queueName: "plain" });
        expect(await why(plain.id)).toEqual({ reason: "ready" });
        await jobService.pauseQueue("plain");
        expect(await why(plain.id)).toEqual({ reason: "queue_paused", queue: "plain" });

        const later = await jobService.createJob("mail", { n: 2 }, { queueName: "later", delayMs: 3_600_000 });
        expect(await why(later.id)).toEqual({ reason: "scheduled", until: later.runAt.toISOString() });

        const holder = await jobService.createJob("mail", { n: 3 }, { queueName: "keyed", concurrencyKey: "acct-1" });
        expect((await claimOne("keyed")).jobId).toBe(holder.id);
        const blocked = await jobService.createJob("mail", { n: 4 }, { queueName: "keyed", concurrencyKey: "acct-1" });
        expect(await why(blocked.id)).toEqual({ reason: "key_busy", key: "acct-1", running: 1, limit: 1, holders: [holder.id] });
        const otherKey = await jobService.createJob("mail", { n: 5 }, { queueName: "keyed", concurrencyKey: "acct-2" });
        expect(await why(otherKey.id)).toEqual({ reason: "ready" });

        const rateLimit = { key: "api", limit: 1, periodMs: 60_000 };
        const first = await jobService.createJob("mail", { n: 6 }, { queueName: "rated", rateLimit });
        const started = await claimOne("rated");
        expect(started.jobId).toBe(first.id);
        await queue.complete(started, { ok: true }, Date.now());
        const second = await jobService.createJob("mail", { n: 7 }, { queueName: "rated", rateLimit });
        const startedAt = (await jobService.getJob(first.id))!.startedAt!.getTime();
        expect(await why(second.id)).toEqual({ reason: "rate_limited", key: "api", starts: 1, limit: 1, periodMs: 60_000, until: new Date(startedAt + 60_000).toISOString() });

        // A running or finished job is not waiting: no reason.
        expect(await why(holder.id)).toBeNull();
        expect(await why(first.id)).toBeNull();
      } finally {
        await close();
      }
    });
  }
});
