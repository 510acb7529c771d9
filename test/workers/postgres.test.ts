/**
 * A Worker enqueues into PostgreSQL: its fetch handler (postgres-worker.ts) reaches the test run's
 * server through a Hyperdrive binding, with the `postgres` client's Workers build on
 * postgresSocket; a PostgresJobQueue on Node (NODE_PEER, same schema) sees the job, claims and
 * completes it; the Worker then reads the result back. The connections each request opened are
 * closed after it (and closing leaves no unhandled rejection, which would fail this run).
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { afterAll, expect, test } from "vitest";
import type { Job } from "../../src/core/index.ts";
import worker, { APPLICATION_NAME } from "./postgres-worker.ts";
import { eventually } from "./helpers.ts";

const schema = `workerd_${crypto.randomUUID().replace(/-/g, "").slice(0, 16)}`;

/** One request to the Worker, awaited to its end (waitUntil included, where it closes its client). */
async function call(method: string, path: string, body?: unknown): Promise<Response> {
  const ctx = createExecutionContext();
  const init: RequestInit = body === undefined ? { method } : { method, body: JSON.stringify(body), headers: { "content-type": "application/json" } };
  const response = await worker.fetch(new Request(`https://worker.test${path}?schema=${schema}`, init), env, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

async function peer(path: string): Promise<Record<string, unknown>> {
  const response = await env.NODE_PEER.fetch(`http://peer${path}`, { method: path.startsWith("/connections") ? "GET" : "POST" });
  const body = (await response.json()) as Record<string, unknown>;
  expect(response.status, JSON.stringify(body)).toBe(200);
  return body;
}

afterAll(async () => {
  if (env.HYPERDRIVE) await peer(`/drop?schema=${schema}`);
});

test("the test run's PostgreSQL is bound (PORTICO_TEST_PG_URL)", () => {
  // Fails, never skips: the other tests would only repeat it.
  expect(env.HYPERDRIVE, "PORTICO_TEST_PG_URL is not set: `npm test` starts a PostgreSQL and exports it (scripts/test.sh)").toBeDefined();
  expect(env.HYPERDRIVE!.connectionString).toMatch(/^postgres(ql)?:\/\//);
});

test("a Worker's fetch handler enqueues through JobService; Node claims and completes; the Worker reads the result", async () => {
  const created = await call("POST", "/jobs", { jobType: "echo", payload: { from: "worker", n: 7 } });
  expect(created.status).toBe(202);
  const job = (await created.json()) as Job;
  expect(job).toMatchObject({ jobType: "echo", queueName: "default", status: "pending", payload: { from: "worker", n: 7 } });

  const taken = await peer(`/take?schema=${schema}&id=${job.id}`);
  expect(taken.seen).toMatchObject({ id: job.id, status: "pending", payload: { from: "worker", n: 7 } });
  expect(taken.claimed).toMatchObject({ id: job.id, status: "running" });
  expect(taken.completed).toBe(true);

  const read = await call("GET", `/jobs/${job.id}`);
  expect(read.status).toBe(200);
  expect(await read.json()).toMatchObject({ id: job.id, status: "completed", result: { by: "node", echoed: { from: "worker", n: 7 } } });

  const missing = await call("GET", `/jobs/${crypto.randomUUID()}`);
  expect(missing.status).toBe(404);
});

test("each request's connections are closed once it ends", async () => {
  await call("POST", "/jobs", { jobType: "echo", payload: { n: 1 } });
  await call("GET", `/jobs/${crypto.randomUUID()}`);
  // The server notices a closed socket a moment later; the bound only stops a leak from hanging the run.
  await eventually("the Worker's connections to close", async () => (await peer(`/connections?name=${APPLICATION_NAME}`)).open === 0);
});
