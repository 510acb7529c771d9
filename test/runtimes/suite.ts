/**
 * The runtime suite: one set of tests run against each shim's `serve()` (Node, Deno, Bun), over
 * real HTTP on 127.0.0.1 with an ephemeral port. Runner-agnostic like the conformance suite: the
 * caller passes its runner's `test` and its runtime's `serve`.
 *
 * Uses only Web APIs plus node:fs/node:os/node:path (which all three runtimes provide) for the
 * temporary store directory.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createStorage } from "unstorage";
import fsDriver from "unstorage/drivers/fs";
import { JobStatus, silentLogger, type Job, type JobHandler, type JobQueue } from "../../src/core/index.ts";
import { MemoryJobQueue } from "../../src/drivers/memory.ts";
import { SqliteJobQueue, type SqliteDatabase } from "../../src/drivers/sqlite/index.ts";
import { UnstorageJobQueue } from "../../src/drivers/unstorage/index.ts";
import type { ServeHandle, ServeOptions } from "../../src/host/create-host.ts";
import { makeJob } from "../../src/testing/conformance/fixtures.ts";
import { assert, assertDeepEqual, assertEqual, assertPresent, show } from "../../src/testing/conformance/assert.ts";

/** How a runtime plugs into the suite. */
export interface RuntimeSuiteOptions {
  /** Runtime name, prefixed to every test name. */
  name: string;
  /** The runner's test function. */
  test: (name: string, fn: () => Promise<void>) => void;
  /** The shim's serve(). */
  serve: (options: ServeOptions) => Promise<ServeHandle>;
  /** The shim's SQLite opener (what another process would open the default store with). */
  openSqlite: (path: string) => Promise<SqliteDatabase>;
}

const TOKEN = "runtime-suite-token";
// 32 key bytes, base64: a Standard Webhooks secret.
const SECRET_BYTES = new Uint8Array(32).map((_, i) => (i * 37 + 11) & 0xff);
const SECRET = `whsec_${toBase64(SECRET_BYTES)}`;
const OTHER_SECRET = `whsec_${toBase64(new Uint8Array(32).fill(7))}`;
const MAX_BODY = 4096;

/** Registers the runtime tests for one shim. */
export function defineRuntimeSuite(options: RuntimeSuiteOptions): void {
  const { serve } = options;
  const test = (title: string, fn: () => Promise<void>) => options.test(`${options.name} runtime: ${title}`, fn);

  /** A server on an in-memory queue with the suite's handlers and auth; always stopped afterwards. */
  async function withServer(
    extra: Partial<ServeOptions>,
    body: (app: ServeHandle, queue: JobQueue) => Promise<void>,
  ): Promise<void> {
    const queue = extra.queue ?? new MemoryJobQueue();
    const app = await serve({
      handlers: [echo],
      queue,
      port: 0,
      handleSignals: false,
      logger: silentLogger,
      webhook: { auth: { bearerToken: TOKEN, signingSecrets: [SECRET] }, logger: silentLogger, maxBodyBytes: MAX_BODY, allowedJobTypes: ["echo", "gate"] },
      ...extra,
    });
    try {
      await body(app, queue);
    } finally {
      await app.stop();
      await queue.close();
    }
  }

  test("serve() listens on 127.0.0.1 with an ephemeral port and answers JSON errors for unknown routes", async () => {
    await withServer({}, async (app) => {
      const url = new URL(app.url);
      assertEqual(url.hostname, "127.0.0.1", "hostname");
      assert(Number(url.port) > 0, `a real port, got ${show(url.port)}`);
      const res = await fetch(`${app.url}/nowhere`);
      assertEqual(res.status, 404, "status");
      const body = (await res.json()) as { error?: { code?: string } };
      assertEqual(body.error?.code, "not_found", "error.code");
      const health = await fetch(`${app.url}/webhooks/health`);
      assertEqual(health.status, 200, "webhook health status");
      await health.body?.cancel();
    });
  });

  test("serve({ dashboard }) mounts the dashboard at /admin: the page, bearer-guarded JSON API, pause/resume, keyset pages, waitForJob", async () => {
    await withServer({ dashboard: { auth: { bearerToken: TOKEN } } }, async (app) => {
      assertEqual(app.dashboardUrl, `${app.url}/admin`, "dashboardUrl");
      const page = await fetch(`${app.url}/admin`);
      assertEqual(page.status, 200, "page status");
      assert((await page.text()).includes("/admin/assets/app.js"), "the page loads its module");
      const script = await fetch(`${app.url}/admin/assets/app.js`);
      assert((script.headers.get("content-type") ?? "").includes("javascript"), "script content type");
      await script.body?.cancel();
      const anonymous = await fetch(`${app.url}/admin/api/stats`);
      assertEqual(anonymous.status, 401, "no token");
      assertEqual(((await anonymous.json()) as { error?: { code?: string } }).error?.code, "unauthorized", "error code");
      const headers = { authorization: `Bearer ${TOKEN}` };
      const pause = await fetch(`${app.url}/admin/api/queues/held/pause`, { method: "POST", headers });
      assertEqual(pause.status, 200, "pause status");
      await pause.body?.cancel();
      const held = await app.jobService.createJob("echo", { text: "held" }, { queueName: "held" });
      const done = await app.jobService.createJob("echo", { text: "done" });
      const finished = await app.jobService.waitForJob(done.id, { timeoutMs: 10_000 });
      assertEqual(finished.status, JobStatus.COMPLETED, "waitForJob");
      const stats = (await (await fetch(`${app.url}/admin/api/stats`, { headers })).json()) as { paused: string[]; queues: { name: string; counts: Record<string, number> }[] };
      assertDeepEqual(stats.paused, ["held"], "stats.paused");
      assertEqual(stats.queues.find((q) => q.name === "held")?.counts.pending, 1, "held job waits");
      const first = (await (await fetch(`${app.url}/admin/api/jobs?limit=1`, { headers })).json()) as { jobs: Job[]; nextCursor: string | null };
      assertEqual(first.jobs[0]?.id, done.id, "newest first");
      assertPresent(first.nextCursor, "a next page");
      const second = (await (await fetch(`${app.url}/admin/api/jobs?limit=1&cursor=${encodeURIComponent(first.nextCursor)}`, { headers })).json()) as { jobs: Job[] };
      assertEqual(second.jobs[0]?.id, held.id, "second page");
      const empty = await fetch(`${app.url}/admin/api/jobs/purge`, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: "{}" });
      assertEqual(empty.status, 400, "empty bulk filter");
      await empty.body?.cancel();
      const resume = await fetch(`${app.url}/admin/api/queues/held/resume`, { method: "POST", headers });
      await resume.body?.cancel();
      assertEqual((await app.jobService.stats()).paused.length, 0, "resumed");
    });
  });

  test("a posted job runs and completes", async () => {
    await withServer({}, async (app) => {
      const res = await post(app, { job_type: "echo", payload: { text: "hello" }, metadata: { from: "suite" } }, { bearer: TOKEN });
      assertEqual(res.status, 202, "status");
      const body = (await res.json()) as { status: string; job_id: string };
      assertEqual(body.status, "accepted", "body.status");
      const job = await waitForJob(app, body.job_id, (j) => j.status === JobStatus.COMPLETED);
      assertDeepEqual(job.result, { echoed: "hello" }, "result");
      assertDeepEqual(job.metadata, { from: "suite" }, "metadata");
      // The job is also readable over HTTP, in the wire format.
      const read = await fetch(`${app.url}/webhooks/jobs/${body.job_id}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      assertEqual(read.status, 200, "GET status");
      const wire = (await read.json()) as { status: string; job_type: string };
      assertEqual(wire.status, "completed", "wire status");
      assertEqual(wire.job_type, "echo", "wire job_type");
    });
  });

  test("a signed request (Standard Webhooks) is accepted and its job runs", async () => {
    await withServer({}, async (app) => {
      const raw = JSON.stringify({ job_type: "echo", payload: { text: "signed" } });
      const res = await post(app, raw, { sign: { secret: SECRET, id: `msg_${crypto.randomUUID()}` } });
      assertEqual(res.status, 202, "status");
      const { job_id } = (await res.json()) as { job_id: string };
      const job = await waitForJob(app, job_id, (j) => j.status === JobStatus.COMPLETED);
      assertDeepEqual(job.result, { echoed: "signed" }, "result");
    });
  });

  test("a schedule fires on its cron and its job runs; fire() creates one job per tick", async () => {
    const ticks: string[] = [];
    const tick: JobHandler<{ n: number }> = {
      jobType: "tick",
      async handle(job) {
        ticks.push(job.id);
        return { success: true, resultData: job.payload.n };
      },
    };
    await withServer(
      { handlers: [echo, tick], schedules: [{ name: "every-second", cron: "* * * * * *", jobType: "tick", payload: { n: 1 } }] },
      async (app) => {
        assertPresent(app.schedule, "schedule trigger");
        await waitFor("a scheduled job to run", async () => ticks.length > 0);
        const ran = await app.jobService.getJob(ticks[0]!);
        assertEqual(ran?.jobType, "tick", "jobType");
        assert(String(ran?.idempotencyKey).startsWith("schedule:every-second:"), `schedule idempotency key, got ${show(ran?.idempotencyKey)}`);
        await waitForJob(app, ticks[0]!, (j) => j.status === JobStatus.COMPLETED);

        // A platform-owned clock: firing one instant twice (two instances) yields one job.
        const at = new Date(Date.UTC(2030, 0, 1, 12, 0, 0));
        await app.schedule.fire("* * * * * *", at);
        await app.schedule.fire("* * * * * *", at);
        const key = `schedule:every-second:${at.toISOString()}`;
        const fired = (await app.jobService.listJobs({ jobType: "tick", limit: 1000 })).filter((j) => j.idempotencyKey === key);
        assertEqual(fired.length, 1, "jobs for one fired instant");
      },
    );
  });

  test("the negative matrix gets the right status and code and enqueues nothing", async () => {
    await withServer({ handlers: [echo, gate(), secretHandler] }, async (app, queue) => {
      const valid = JSON.stringify({ job_type: "echo", payload: { text: "x" } });
      const now = Math.floor(Date.now() / 1000);
      const big = JSON.stringify({ job_type: "echo", payload: { text: "x".repeat(MAX_BODY * 2) } });
      const cases: { name: string; send: () => Promise<Response>; status: number; code: string; field?: string }[] = [
        { name: "no credentials", send: () => post(app, valid, {}), status: 401, code: "missing_credentials" },
        { name: "wrong token", send: () => post(app, valid, { bearer: "not-the-token" }), status: 401, code: "invalid_token" },
        {
          name: "forged signature",
          send: () => post(app, valid, { sign: { secret: OTHER_SECRET, id: "msg_forged" } }),
          status: 401,
          code: "invalid_signature",
        },
        {
          name: "signature over another body",
          send: () => post(app, valid, { sign: { secret: SECRET, id: "msg_tampered", body: valid.replace('"x"', '"y"') } }),
          status: 401,
          code: "invalid_signature",
        },
        {
          name: "stale timestamp",
          send: () => post(app, valid, { sign: { secret: SECRET, id: "msg_stale", timestamp: now - 3600 } }),
          status: 401,
          code: "timestamp_out_of_tolerance",
        },
        {
          name: "wrong content type",
          send: () => post(app, valid, { bearer: TOKEN, contentType: "text/plain" }),
          status: 415,
          code: "unsupported_media_type",
        },
        { name: "malformed JSON", send: () => post(app, '{"job_type": "echo", ', { bearer: TOKEN }), status: 400, code: "invalid_json" },
        {
          name: "invalid fields",
          send: () => post(app, { job_type: "echo", payload: {}, priority: "high" }, { bearer: TOKEN }),
          status: 400,
          code: "invalid_body",
          field: "priority",
        },
        {
          name: "payload not an object",
          send: () => post(app, { job_type: "echo", payload: ["text"] }, { bearer: TOKEN }),
          status: 400,
          code: "invalid_body",
          field: "payload",
        },
        { name: "missing job_type", send: () => post(app, { payload: {} }, { bearer: TOKEN }), status: 400, code: "invalid_body", field: "job_type" },
        {
          name: "disallowed job type",
          send: () => post(app, { job_type: "secret", payload: {} }, { bearer: TOKEN }),
          status: 403,
          code: "job_type_not_allowed",
        },
        { name: "oversized body with Content-Length", send: () => post(app, big, { bearer: TOKEN }), status: 413, code: "payload_too_large" },
        {
          name: "oversized body without Content-Length (chunked)",
          send: () => post(app, big, { bearer: TOKEN, chunked: true }),
          status: 413,
          code: "payload_too_large",
        },
      ];
      const failures: string[] = [];
      for (const c of cases) {
        const res = await c.send();
        const text = await res.text();
        let body: { error?: { code?: string; message?: string; issues?: { path: string }[] } } = {};
        try {
          body = JSON.parse(text);
        } catch {
          failures.push(`${c.name}: body is not JSON: ${text.slice(0, 200)}`);
          continue;
        }
        if (res.status !== c.status) failures.push(`${c.name}: status ${res.status}, expected ${c.status} (${text.slice(0, 200)})`);
        if (body.error?.code !== c.code) failures.push(`${c.name}: code ${show(body.error?.code)}, expected ${c.code}`);
        if (typeof body.error?.message !== "string" || body.error.message === "") failures.push(`${c.name}: no error message`);
        if (c.field && !JSON.stringify(body.error).includes(c.field)) failures.push(`${c.name}: the error does not name ${c.field}: ${text}`);
      }
      assertDeepEqual(failures, [], "negative matrix");
      assertEqual((await queue.stats()).total, 0, "jobs enqueued by refused requests");

      // A replayed webhook-id: the first delivery creates the job, the replay creates none.
      const id = `msg_${crypto.randomUUID()}`;
      const first = await post(app, valid, { sign: { secret: SECRET, id } });
      assertEqual(first.status, 202, "first delivery status");
      const { job_id } = (await first.json()) as { job_id: string };
      const replay = await post(app, valid, { sign: { secret: SECRET, id } });
      assertEqual(replay.status, 200, "replay status");
      const again = (await replay.json()) as { status: string; job_id: string };
      assertEqual(again.status, "duplicate", "replay body.status");
      assertEqual(again.job_id, job_id, "replay job_id");
      assertEqual((await queue.stats()).total, 1, "jobs after a delivery and its replay");
    });
  });

  test("graceful stop lets a running job finish and refuses new webhooks meanwhile", async () => {
    const slow = gate();
    const queue = new MemoryJobQueue();
    const app = await serve({
      handlers: [echo, slow],
      queue,
      port: 0,
      handleSignals: false,
      logger: silentLogger,
      webhook: { auth: { bearerToken: TOKEN }, logger: silentLogger },
    });
    let stopped: Promise<void> | null = null;
    try {
      const res = await post(app, { job_type: "gate", payload: {} }, { bearer: TOKEN });
      assertEqual(res.status, 202, "status");
      const { job_id } = (await res.json()) as { job_id: string };
      await slow.started;
      stopped = app.stop();
      await waitFor("the webhook trigger to stop", async () => !app.webhook!.isRunning);
      const refused = await post(app, { job_type: "echo", payload: { text: "late" } }, { bearer: TOKEN });
      assertEqual(refused.status, 503, "status while stopping");
      assertEqual(((await refused.json()) as { error: { code: string } }).error.code, "trigger_stopped", "code while stopping");
      assertEqual((await queue.get(job_id))?.status, JobStatus.RUNNING, "still running during the stop");
      slow.release();
      await stopped;
      const job = await queue.get(job_id);
      assertEqual(job?.status, JobStatus.COMPLETED, "status after the stop");
      assertEqual(job?.result, "released", "result");
      assertEqual((await queue.stats()).total, 1, "no job from the refused request");
      assertEqual(app.workerManager.isRunning, false, "worker stopped");
    } finally {
      slow.release();
      await (stopped ?? app.stop());
      await queue.close();
    }
  });

  test("the default SQLite store keeps jobs across restarts and is shared: within a process, and with any other connection to its file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "portico-runtime-"));
    const base: ServeOptions = { handlers: [echo], storeDir: dir, port: 0, handleSignals: false, logger: silentLogger, webhook: { logger: silentLogger } };
    try {
      const first = await serve(base);
      let id: string;
      try {
        // Far in the future, so it is still waiting after the restart.
        id = (await first.jobService.createJob("echo", { text: "later" }, { delayMs: 3_600_000 })).id;
        // Another connection to the file (what another process opens) sees it and can add jobs...
        const database = await options.openSqlite(join(dir, "jobs.sqlite"));
        const other = new SqliteJobQueue({ database });
        try {
          assertEqual((await other.get(id))?.status, JobStatus.SCHEDULED, "another connection reads the job");
          const [added] = await other.enqueue([jobRecord("echo", { text: "from elsewhere" })]);
          const ran = await waitForJob(first, added!.job.id, (j) => j.status === JobStatus.COMPLETED);
          assertDeepEqual(ran.result, { echoed: "from elsewhere" }, "a job enqueued through the other connection runs here");
        } finally {
          await other.close();
          database.close();
        }
        // ...and a second serve() in this process shares the open store.
        const sibling = await serve(base);
        try {
          assertEqual((await sibling.jobService.getJob(id))?.id, id, "the sibling sees the job");
        } finally {
          await sibling.stop();
        }
        assertEqual((await first.jobService.getJob(id))?.status, JobStatus.SCHEDULED, "the store stays open for the first server");
      } finally {
        await first.stop();
      }
      assert((await readdir(dir)).includes("jobs.sqlite"), "the store is the file jobs.sqlite in storeDir");
      const second = await serve(base);
      try {
        const job = await second.jobService.getJob(id);
        assertEqual(job?.status, JobStatus.SCHEDULED, "status after restart");
        assertDeepEqual(job?.payload, { text: "later" }, "payload after restart");
      } finally {
        await second.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("an fs store left in storeDir (the earlier default) is imported once, on the first start", async () => {
    const dir = await mkdtemp(join(tmpdir(), "portico-runtime-"));
    const base: ServeOptions = { handlers: [echo], storeDir: dir, port: 0, handleSignals: false, logger: silentLogger, webhook: { logger: silentLogger } };
    try {
      // The old store: a waiting job with an idempotency key, a completed one, and one left
      // running by a process that died.
      const old = new UnstorageJobQueue({ storage: createStorage({ driver: fsDriver({ base: dir }) }), lockSettleMs: 0 });
      const waiting = { ...jobRecord("echo", { text: "waiting" }), idempotencyKey: "order-1", runAt: new Date(Date.now() + 3_600_000), status: JobStatus.SCHEDULED, scheduledAt: new Date(Date.now() + 3_600_000) };
      const finished = jobRecord("echo", { text: "done before" });
      const crashed = jobRecord("echo", { text: "interrupted" });
      await old.enqueue([waiting, finished, crashed]);
      const claims = await old.claim({ queues: ["default"], limit: 2, leaseMs: 3_600_000, workerId: "old", now: Date.now() });
      const finishedClaim = claims.find((c) => c.jobId === finished.id)!;
      assertPresent(finishedClaim, "the old store's claim");
      await old.complete(finishedClaim, { echoed: "done before" }, Date.now());
      await old.close(); // the crashed job stays RUNNING on disk, as after a SIGKILL

      const logged: string[] = [];
      const logger = { ...silentLogger, info: (event: string) => void logged.push(event) };
      const first = await serve({ ...base, logger });
      try {
        assert(logged.includes("host.fs_imported"), `the import is logged, got ${show(logged)}`);
        const moved = await first.jobService.getJob(waiting.id);
        assertEqual(moved?.status, JobStatus.SCHEDULED, "the waiting job keeps its status");
        assertEqual(moved?.idempotencyKey, "order-1", "and its idempotency key");
        const again = await first.jobService.createJob("echo", { text: "waiting" }, { idempotencyKey: "order-1" });
        assertEqual(again.id, waiting.id, "the key still deduplicates in the new store");
        const kept = await first.jobService.getJob(finished.id);
        assertEqual(kept?.status, JobStatus.COMPLETED, "the completed job keeps its status");
        assertDeepEqual(kept?.result, { echoed: "done before" }, "and its result");
        // The interrupted job runs again here (its attempt on the dead process counted).
        const rerun = await waitForJob(first, crashed.id, (j) => j.status === JobStatus.COMPLETED);
        assertDeepEqual(rerun.result, { echoed: "interrupted" }, "the interrupted job ran again");
        assertEqual(rerun.attempts, 2, "both attempts counted");
        await first.jobService.cancelJob(waiting.id);
      } finally {
        await first.stop();
      }
      // A second start does not import again (the cancelled job is not brought back).
      logged.length = 0;
      const second = await serve({ ...base, logger });
      try {
        assert(!logged.includes("host.fs_imported"), "no second import");
        assertEqual((await second.jobService.getJob(waiting.id))?.status, JobStatus.CANCELLED, "the change made after the import stays");
        assertEqual((await second.jobService.stats()).total, 3, "three jobs, once each");
      } finally {
        await second.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("an fs store still owned by another process is not imported (a warning says why); a later start imports it", async () => {
    const dir = await mkdtemp(join(tmpdir(), "portico-runtime-"));
    const base: ServeOptions = { handlers: [echo], storeDir: dir, port: 0, handleSignals: false, webhook: { logger: silentLogger } };
    try {
      const owner = new UnstorageJobQueue({ storage: createStorage({ driver: fsDriver({ base: dir }) }), lockSettleMs: 0, ownerLabel: "pid 1 (old)" });
      const job = { ...jobRecord("echo", { text: "old" }), runAt: new Date(Date.now() + 3_600_000), status: JobStatus.SCHEDULED };
      await owner.enqueue([job]);
      const warnings: { event: string; fields?: { reason?: string } }[] = [];
      const logger = { ...silentLogger, warn: (event: string, fields?: object) => void warnings.push({ event, fields }) };
      const first = await serve({ ...base, logger });
      try {
        const skipped = warnings.find((w) => w.event === "host.fs_import_skipped");
        assertPresent(skipped, `a warning, got ${show(warnings)}`);
        assert(/in use by another process/.test(skipped.fields?.reason ?? "") && skipped.fields!.reason!.includes("pid 1 (old)"), `the reason names the owner: ${show(skipped.fields)}`);
        assertEqual(await first.jobService.getJob(job.id), null, "nothing imported while the owner lives");
      } finally {
        await first.stop();
      }
      await owner.close();
      const second = await serve({ ...base, logger: silentLogger });
      try {
        assertEqual((await second.jobService.getJob(job.id))?.status, JobStatus.SCHEDULED, "imported once the owner is gone");
      } finally {
        await second.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}

// ---------------------------------------------------------------- handlers

const echo: JobHandler<{ text: string }, { echoed: string }> = {
  jobType: "echo",
  async handle(job) {
    return { success: true, resultData: { echoed: job.payload.text } };
  },
};

const secretHandler: JobHandler = {
  jobType: "secret",
  async handle() {
    return { success: true };
  },
};

/** A handler that runs until released; `started` resolves once it runs. */
function gate(): JobHandler & { started: Promise<void>; release(): void } {
  let onStart!: () => void;
  let onRelease!: () => void;
  const started = new Promise<void>((r) => (onStart = r));
  const released = new Promise<void>((r) => (onRelease = r));
  return {
    jobType: "gate",
    started,
    release: () => onRelease(),
    async handle() {
      onStart();
      await released;
      return { success: true, resultData: "released" };
    },
  };
}

// ---------------------------------------------------------------- HTTP helpers

interface PostOptions {
  bearer?: string;
  sign?: { secret: string; id: string; timestamp?: number; body?: string };
  contentType?: string;
  /** Streams the body so no Content-Length is sent. */
  chunked?: boolean;
}

async function post(app: ServeHandle, body: string | object, o: PostOptions): Promise<Response> {
  const raw = typeof body === "string" ? body : JSON.stringify(body);
  const headers: Record<string, string> = { "content-type": o.contentType ?? "application/json" };
  if (o.bearer) headers.authorization = `Bearer ${o.bearer}`;
  if (o.sign) Object.assign(headers, await signature(o.sign.secret, o.sign.id, o.sign.timestamp ?? Math.floor(Date.now() / 1000), o.sign.body ?? raw));
  const init: RequestInit & { duplex?: "half" } = { method: "POST", headers };
  if (o.chunked) {
    const bytes = new TextEncoder().encode(raw);
    init.body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 1024) controller.enqueue(bytes.slice(i, i + 1024));
        controller.close();
      },
    });
    init.duplex = "half";
  } else {
    init.body = raw;
  }
  return fetch(`${app.url}/webhooks/jobs`, init);
}

/** Standard Webhooks headers, computed here independently of the trigger's own signer. */
async function signature(secret: string, id: string, timestamp: number, body: string): Promise<Record<string, string>> {
  const keyBytes = fromBase64(secret.slice("whsec_".length));
  const key = await crypto.subtle.importKey("raw", keyBytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${id}.${timestamp}.${body}`)));
  return { "webhook-id": id, "webhook-timestamp": String(timestamp), "webhook-signature": `v1,${toBase64(mac)}` };
}

function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

// ---------------------------------------------------------------- waiting

/** Polls until `check` holds; fails with `what` after a generous deadline (not a timing assertion). */
async function waitFor(what: string | (() => string), check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${typeof what === "string" ? what : what()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A PENDING job due now, as a store takes it (for tests that write to a store directly). */
function jobRecord(jobType: string, payload: unknown): Job {
  const now = new Date();
  return makeJob({ jobType, payload, createdAt: now, runAt: now });
}

async function waitForJob(app: ServeHandle, id: string, done: (job: Job) => boolean): Promise<Job> {
  let last: Job | null = null;
  await waitFor(() => `job ${id} (last seen: ${show(last)})`, async () => {
    last = await app.jobService.getJob(id);
    return last !== null && done(last);
  });
  return last!;
}
