/**
 * The hardening part of the runtime suite (issue #10), run against each shim's `serve()` over real
 * HTTP on 127.0.0.1: raw TCP clients that hold slow uploads open, a real child process stopped by
 * SIGTERM during a stalled upload, reads and keys per credential. Runner-agnostic like suite.ts;
 * node:net, node:child_process and node:process exist on Node, Deno and Bun.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { env } from "node:process";
import { fileURLToPath } from "node:url";
import { silentLogger, type JobHandler } from "../../src/core/index.ts";
import { MemoryJobQueue } from "../../src/drivers/memory.ts";
import type { ServeHandle, ServeOptions } from "../../src/host/create-host.ts";
import { signWebhook } from "../../src/triggers/webhook/index.ts";
import { assert, assertDeepEqual, assertEqual, show } from "../../src/testing/conformance/assert.ts";

/** How a runtime plugs into the hardening suite. */
export interface HardeningSuiteOptions {
  name: string;
  test: (name: string, fn: () => Promise<void>) => void;
  serve: (options: ServeOptions) => Promise<ServeHandle>;
  /** A full garbage collection. */
  gc(): void;
  /** Bytes held by the JS heap plus external buffers. */
  memory(): number;
  /** How to run a TypeScript file as a child process of this runtime: the script path goes after `args`. */
  childCommand: { command: string; args: string[] };
}

const TOKEN = "hardening-suite-token";
const SECRET = `whsec_${btoa("runtime-hardening-secret-bytes-0")}`;
const KiB = 1024;
const MiB = 1024 * KiB;

const noop: JobHandler = {
  jobType: "x",
  async handle() {
    return { success: true };
  },
};

/** Registers the hardening tests for one shim. */
export function defineHardeningSuite(options: HardeningSuiteOptions): void {
  const test = (title: string, fn: () => Promise<void>) => options.test(`${options.name} runtime hardening: ${title}`, fn);

  /** Runs a fixture as a child process of this runtime; kill() ends it and waits for its exit. */
  function runChild(fixture: string, extraEnv: Record<string, string>) {
    const script = fileURLToPath(new URL(`./fixtures/${fixture}`, import.meta.url));
    const { command, args } = options.childCommand;
    const child = spawn(command, [...args, script], { env: { ...env, ...extraEnv }, stdio: ["ignore", "pipe", "pipe"] });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d) => (stdout += String(d)));
    child.stderr!.on("data", (d) => (stderr += String(d)));
    return {
      child,
      exited,
      stderr: () => stderr,
      /** The first stdout line holding `"event":"<event>"`, parsed. */
      line: <T>(event: string) =>
        new Promise<T>((resolve, reject) => {
          const look = () => {
            const line = stdout.split("\n").find((l) => l.includes(`"event":"${event}"`));
            if (line) resolve(JSON.parse(line) as T);
          };
          child.stdout!.on("data", look);
          look();
          void exited.then((code) => reject(new Error(`${fixture} exited (${code}) before "${event}": ${stderr.slice(0, 2000)}`)));
        }),
      kill: async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
        await exited;
      },
    };
  }

  async function withServer(extra: Partial<ServeOptions>, body: (app: ServeHandle) => Promise<void>): Promise<void> {
    const queue = new MemoryJobQueue();
    const app = await options.serve({ handlers: [noop], queue, port: 0, handleSignals: false, logger: silentLogger, ...extra });
    try {
      await body(app);
    } finally {
      await app.stop();
      await queue.close();
    }
  }

  // The red-team case: 300 connections, each starting a 1 MiB signed upload (no valid signature)
  // and stalling, pinned ~300 MiB when every body was buffered before its signature was checked.
  // Now at most the 1 MiB budget is buffered; what remains is the runtime's own per-connection
  // buffers (up to ~64 KiB each on Node). The client runs in its own process.
  test("300 stalled 1 MiB signed uploads, no valid signature among them, pin under 48 MiB (budget 1 MiB)", async () => {
    const BUDGET = 1 * MiB;
    const UPLOADS = 300;
    await withServer(
      {
        webhook: {
          auth: { signingSecrets: [SECRET] },
          logger: silentLogger,
          maxBodyBytes: 1 * MiB,
          maxUnauthenticatedBytes: BUDGET,
          bodyTimeoutMs: 120_000,
        },
      },
      async (app) => {
        const forged = `v1,${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))}`;
        const headers = { "webhook-id": "msg_flood", "webhook-timestamp": String(Math.floor(Date.now() / 1000)), "webhook-signature": forged };
        options.gc();
        const before = options.memory();
        const client = runChild("slow-uploads.ts", { PORT: new URL(app.url).port, UPLOADS: String(UPLOADS), BYTES: String(1 * MiB), HEADERS: JSON.stringify(headers) });
        try {
          // Every upload has been seen once it was refused (counted in errors) or is held in flight.
          await waitFor("every upload to reach the trigger", async () => {
            const h = app.webhook!.health();
            return h.errors + h.requests_in_flight >= UPLOADS;
          }, 60_000);
          // Let the held ones take what the kernel still holds, until the count stops moving.
          let last = -1;
          for (let same = 0; same < 4; ) {
            await sleep(50);
            const used = app.webhook!.health().unauthenticated_bytes;
            same = used === last ? same + 1 : 0;
            last = used;
          }
          options.gc();
          const held = options.memory() - before;
          const health = app.webhook!.health();
          assert(health.unauthenticated_bytes_peak <= BUDGET, `peak buffered ${health.unauthenticated_bytes_peak} > budget ${BUDGET}`);
          assert(held < 48 * MiB, `${UPLOADS} stalled uploads hold ${(held / MiB).toFixed(1)} MiB (bound 48 MiB); ${JSON.stringify(health)}`);
          assert(health.errors >= UPLOADS - 10, `most uploads are refused at once (503 server_busy), got ${health.errors} of ${UPLOADS}`);
          assertEqual((await app.jobService.stats()).total, 0, "jobs");
        } finally {
          await client.kill();
        }
      },
    );
  });

  test("SIGTERM during a stalled upload: the process exits after the stop timeout, not the body deadline", async () => {
    const child = runChild("stall-child.ts", { PORTICO_RUNTIME: options.name });
    let socket: Socket | null = null;
    try {
      const { url } = await child.line<{ url: string }>("listening");
      // Declares 1,000 bytes, sends 10, then nothing: only a deadline or the stop can end it.
      socket = connect(Number(new URL(url).port), "127.0.0.1");
      socket.on("error", () => {});
      socket.write(
        `POST /webhooks/jobs HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer stall-token\r\n` +
          `content-type: application/json\r\ncontent-length: 1000\r\n\r\n{"job_type"`,
      );
      await waitFor("the stalled upload to be in flight", async () => {
        const health = (await (await fetch(`${url}/webhooks/health`)).json()) as { requests_in_flight: number };
        return health.requests_in_flight === 1;
      });
      const signalled = Date.now();
      child.child.kill("SIGTERM");
      // The child's body deadline is 600 s (and Node's own request timeout 300 s by default): an exit
      // within 45 s can only come from its 1 s stop timeout.
      const code = await Promise.race([child.exited, sleep(45_000).then(() => "still running" as const)]);
      const elapsed = Date.now() - signalled;
      assert(code !== "still running", `still running 45 s after SIGTERM (stderr: ${child.stderr().slice(0, 500)})`);
      // The stop ran to its end (Deno's child_process reports a signalled child's exit code as null).
      await child.line("host.stopped");
      if (options.name !== "deno") assertEqual(code, 0, "exit code");
      assert(elapsed < 45_000, `exited ${elapsed} ms after SIGTERM`);
    } finally {
      socket?.destroy();
      await child.kill();
    }
  });

  test("hopeless nesting on the default store: depth 3,000 (and up to the 1 MiB body) is a 400, never 503 or 500", async () => {
    const dir = await mkdtemp(join(tmpdir(), "portico-hardening-"));
    const app = await options.serve({ handlers: [noop], storeDir: dir, port: 0, handleSignals: false, logger: silentLogger, webhook: { logger: silentLogger } });
    try {
      const statuses: Record<number, number> = {};
      for (const depth of [2_203, 3_000, 5_000, 170_000]) {
        const res = await fetch(`${app.url}/webhooks/jobs`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: `{"job_type":"x","payload":${'{"a":'.repeat(depth)}1${"}".repeat(depth)}}`,
        });
        statuses[depth] = res.status;
        const { error } = (await res.json()) as { error: { code: string } };
        assertEqual(error.code, "validation_failed", `code at depth ${depth}`);
      }
      assertDeepEqual(statuses, { 2203: 400, 3000: 400, 5000: 400, 170000: 400 }, "statuses");
      assertEqual((await app.jobService.stats()).total, 0, "jobs");
    } finally {
      await app.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("a signed message replayed after 2,000 later completions (retention maxCount 100) is still a duplicate", async () => {
    const queue = new MemoryJobQueue({ retention: { maxCount: 100 } });
    const app = await options.serve({
      handlers: [noop],
      queue,
      port: 0,
      handleSignals: false,
      logger: silentLogger,
      concurrency: 16,
      webhook: { auth: { signingSecrets: [SECRET] }, logger: silentLogger },
    });
    try {
      const data = JSON.stringify({ job_type: "x", payload: { n: "first" } });
      const headers = { ...(await signWebhook({ secret: SECRET, id: "msg_replayed", body: data })), "content-type": "application/json" };
      const send = () => fetch(`${app.url}/webhooks/jobs`, { method: "POST", headers, body: data });
      const first = await send();
      assertEqual(first.status, 202, "first delivery");
      const { job_id } = (await first.json()) as { job_id: string };
      const later = await app.jobService.createJobs(Array.from({ length: 2_000 }, (_, i) => ({ jobType: "x", payload: { i } })));
      await waitFor("2,001 completions", async () => (await queue.stats()).byStatus.pending === 0 && (await queue.stats()).byStatus.running === 0, 60_000);
      assertEqual(await app.jobService.getJob(later[0]!.id), null, "an early unkeyed job is pruned (maxCount 100)");
      // The same signed request again, within its 5-minute tolerance.
      const replay = await send();
      assertEqual(replay.status, 200, "replay status");
      assertDeepEqual(await replay.json(), { status: "duplicate", job_id, message: `job ${job_id} already exists for this idempotency key` }, "replay body");
      assertEqual((await app.jobService.getJob(job_id))?.status, "completed", "the first job is still readable");
    } finally {
      await app.stop();
      await queue.close();
    }
  });

  test("a signed GET is 401; the bearer token reads", async () => {
    await withServer({ webhook: { auth: { bearerToken: TOKEN, signingSecrets: [SECRET] }, logger: silentLogger } }, async (app) => {
      const data = JSON.stringify({ job_type: "x" });
      const created = await fetch(`${app.url}/webhooks/jobs`, {
        method: "POST",
        headers: { ...(await signWebhook({ secret: SECRET, id: "msg_get", body: data })), "content-type": "application/json" },
        body: data,
      });
      assertEqual(created.status, 202, "signed POST");
      const { job_id } = (await created.json()) as { job_id: string };
      const signedGet = await fetch(`${app.url}/webhooks/jobs/${job_id}`, { headers: await signWebhook({ secret: SECRET, id: "msg_get", body: "" }) });
      assertEqual(signedGet.status, 401, "signed GET");
      assertEqual(((await signedGet.json()) as { error: { code: string } }).error.code, "missing_credentials", "code");
      const read = await fetch(`${app.url}/webhooks/jobs/${job_id}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      assertEqual(read.status, 200, "bearer GET");
      await read.body?.cancel();
    });
  });

  test("key squatting: a bearer client's webhook-id does not swallow the signed message; both jobs are kept", async () => {
    await withServer({ webhook: { auth: { bearerToken: TOKEN, signingSecrets: [SECRET] }, logger: silentLogger } }, async (app) => {
      const jobs = `${app.url}/webhooks/jobs`;
      const squat = await fetch(jobs, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", "webhook-id": "msg_squatted" },
        body: JSON.stringify({ job_type: "x", payload: { by: "squatter" }, idempotency_key: "msg_squatted" }),
      });
      assertEqual(squat.status, 202, "squatter");
      const data = JSON.stringify({ job_type: "x", payload: { by: "sender" } });
      const sent = () =>
        signWebhook({ secret: SECRET, id: "msg_squatted", body: data }).then((h) =>
          fetch(jobs, { method: "POST", headers: { ...h, "content-type": "application/json" }, body: data }),
        );
      const real = await sent();
      assertEqual(real.status, 202, "signed sender");
      const { job_id } = (await real.json()) as { job_id: string };
      const replay = await sent();
      assertDeepEqual(await replay.json(), { status: "duplicate", job_id, message: `job ${job_id} already exists for this idempotency key` }, "replay");
      const all = await app.jobService.listJobs({});
      assertDeepEqual(all.map((j) => j.payload).sort((a, b) => show(a).localeCompare(show(b))), [{ by: "sender" }, { by: "squatter" }], "payloads kept");
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(25);
  }
}
