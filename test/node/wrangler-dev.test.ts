/**
 * The example Worker under a real `wrangler dev` (workerd on loopback, offline): an echo job posted
 * to the webhook runs in the Durable Object's alarm, and a cron tick through /__scheduled runs.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";

const TOKEN = "local-dev-token";
let child: ChildProcess;
let base = "";
let persist = "";
let output = "";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Polls until `check` returns a value; the bound only keeps a broken setup from hanging. */
async function eventually<T>(what: string, check: () => Promise<T | null>, tries = 600): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const value = await check().catch(() => null);
    if (value !== null) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}\n--- wrangler output ---\n${output}`);
}

beforeAll(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  persist = mkdtempSync(join(tmpdir(), "portico-wrangler-"));
  child = spawn(
    join("node_modules", ".bin", "wrangler"),
    ["dev", "--local", "--ip", "127.0.0.1", "--port", String(port), "--test-scheduled", "--persist-to", persist, "--show-interactive-dev-session=false"],
    { env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false", CI: "1" }, stdio: ["ignore", "pipe", "pipe"] },
  );
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  await eventually("wrangler dev to serve", async () => ((await fetch(`${base}/webhooks/health`)).status < 500 ? true : null));
}, 120_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGINT");
    await exited;
  }
  if (persist) rmSync(persist, { recursive: true, force: true });
});

test("an echo job posted to the webhook completes with its payload", async () => {
  const res = await fetch(`${base}/webhooks/jobs`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ job_type: "echo", payload: { from: "node" } }),
  });
  expect(res.status).toBe(202);
  const { job_id } = (await res.json()) as { job_id: string };
  const job = await eventually("the job to complete", async () => {
    const r = await fetch(`${base}/webhooks/jobs/${job_id}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const body = (await r.json()) as { status: string; result: unknown };
    return body.status === "completed" ? body : null;
  });
  expect(job.result).toEqual({ from: "node" });
});

test("a refused request is JSON with a stable code", async () => {
  const res = await fetch(`${base}/webhooks/jobs`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
  expect(res.status).toBe(401);
  expect(((await res.json()) as { error: { code: string } }).error.code).toBe("missing_credentials");
});

test("/__scheduled runs the heartbeat cron", async () => {
  const res = await fetch(`${base}/__scheduled?cron=*+*+*+*+*`);
  expect(res.status).toBe(200);
  expect(output).not.toContain("schedule_fire_unmatched");
});
