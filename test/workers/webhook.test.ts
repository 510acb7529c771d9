/** The example Worker's webhook end to end through SELF.fetch, including every refusal. */
import { SELF } from "cloudflare:test";
import { describe, expect, test } from "vitest";
import { eventually, workerQueue } from "./helpers.ts";

const URL_BASE = "https://example.com/webhooks";
const TOKEN = "local-dev-token";
const auth = { authorization: `Bearer ${TOKEN}` };
const json = { "content-type": "application/json" };

const post = (body: BodyInit, headers: Record<string, string>) => SELF.fetch(`${URL_BASE}/jobs`, { method: "POST", body, headers });

describe("webhook through the Worker", () => {
  test("an echo job is accepted, runs in the object's alarm and is served completed", async () => {
    const res = await post(JSON.stringify({ job_type: "echo", payload: { n: 7, s: "ü" } }), { ...auth, ...json });
    expect(res.status).toBe(202);
    const accepted = (await res.json()) as { status: string; job_id: string };
    expect(accepted.status).toBe("accepted");
    const job = await eventually("the echo job to complete", async () => {
      const r = await SELF.fetch(`${URL_BASE}/jobs/${accepted.job_id}`, { headers: auth });
      const body = (await r.json()) as { status: string; result: unknown };
      return body.status === "completed" ? body : null;
    });
    expect(job.result).toEqual({ n: 7, s: "ü" });
  });

  test("a repeated idempotency key answers duplicate with the first job", async () => {
    const body = JSON.stringify({ job_type: "echo", payload: { n: 1 }, idempotency_key: `k-${crypto.randomUUID()}` });
    const first = (await (await post(body, { ...auth, ...json })).json()) as { job_id: string };
    const again = await post(body, { ...auth, ...json });
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ status: "duplicate", job_id: first.job_id });
  });

  test("GET of a job needs the token too", async () => {
    const res = await SELF.fetch(`${URL_BASE}/jobs/${crypto.randomUUID()}`);
    expect(res.status).toBe(401);
  });

  // Each refused request targets its own queue, so "nothing enqueued" is checkable exactly.
  const cases: { name: string; status: number; code: string; send: (queue: string) => Promise<Response> }[] = [
    { name: "no token", status: 401, code: "missing_credentials", send: (q) => post(JSON.stringify({ job_type: "echo", payload: { n: 1 }, queue_name: q }), json) },
    {
      name: "wrong token",
      status: 401,
      code: "invalid_token",
      send: (q) => post(JSON.stringify({ job_type: "echo", payload: { n: 1 }, queue_name: q }), { ...json, authorization: "Bearer nope" }),
    },
    { name: "malformed JSON", status: 400, code: "invalid_json", send: (q) => post(`{"job_type":"echo","queue_name":"${q}",`, { ...auth, ...json }) },
    { name: "missing job_type", status: 400, code: "invalid_body", send: (q) => post(JSON.stringify({ payload: { n: 1 }, queue_name: q }), { ...auth, ...json }) },
    {
      name: "unknown job type",
      status: 400,
      code: "unknown_job_type",
      send: (q) => post(JSON.stringify({ job_type: "nope", payload: { n: 1 }, queue_name: q }), { ...auth, ...json }),
    },
    {
      name: "body over 1 MiB",
      status: 413,
      code: "payload_too_large",
      send: (q) => post(JSON.stringify({ job_type: "echo", payload: { s: "x".repeat(1_100_000) }, queue_name: q }), { ...auth, ...json }),
    },
    {
      name: "not JSON",
      status: 415,
      code: "unsupported_media_type",
      send: (q) => post(JSON.stringify({ job_type: "echo", payload: { n: 1 }, queue_name: q }), { ...auth, "content-type": "text/plain" }),
    },
  ];
  for (const c of cases) {
    test(`refused: ${c.name} -> ${c.status} ${c.code}, nothing enqueued`, async () => {
      const queue = `neg-${crypto.randomUUID()}`;
      const res = await c.send(queue);
      expect(res.status).toBe(c.status);
      expect(res.headers.get("content-type")).toContain("application/json");
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe(c.code);
      expect(typeof body.error.message).toBe("string");
      expect(await workerQueue().list({ queueName: queue })).toEqual([]);
    });
  }
});
