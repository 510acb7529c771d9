/**
 * The webhook trigger over real HTTP (@hono/node-server on 127.0.0.1:0) against a real
 * JobService + MemoryJobQueue: the contract and the full negative matrix. Every refusal asserts
 * the status, the stable JSON error code, and that nothing was enqueued.
 */
import { createHmac } from "node:crypto";
import * as v from "valibot";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { JobStatus } from "../../src/core/index.ts";
import { signWebhook } from "../../src/triggers/webhook/index.ts";
import { postChunked, SECRET_NEW, SECRET_OLD, startServer, TOKEN, type Server } from "./webhook-helpers.ts";

const JSON_CT = { "content-type": "application/json" };
const BEARER = { authorization: `Bearer ${TOKEN}` };
const body = (extra: Record<string, unknown> = {}) => JSON.stringify({ job_type: "email.send", payload: { to: "a@example.com" }, ...extra });

async function post(url: string, headers: Record<string, string>, data: string | Uint8Array) {
  const res = await fetch(url, { method: "POST", headers, body: data as BodyInit });
  return { status: res.status, type: res.headers.get("content-type"), json: (await res.json()) as any };
}

/** Asserts a refusal: status, JSON error envelope with `code`, and an unchanged store. */
async function expectRefused(s: Server, res: { status: number; json: any; type?: string | null }, status: number, code: string, before = 0) {
  expect(res.status).toBe(status);
  expect(res.json).toMatchObject({ error: { code, message: expect.any(String) } });
  if (res.type !== undefined) expect(res.type).toMatch(/^application\/json/);
  expect(await s.count()).toBe(before);
}

describe("bearer token, allow-list and schemas", () => {
  let s: Server;
  beforeAll(async () => {
    s = await startServer({
      auth: { bearerToken: TOKEN },
      allowedJobTypes: ["email.send", "report.generate", "typed"],
      maxBodyBytes: 1024,
      schemas: { typed: v.object({ n: v.pipe(v.number(), v.minValue(1)) }) },
    });
  });
  afterAll(() => s.close());

  test("202 accepted creates the job with the wire fields mapped", async () => {
    const scheduledAt = "2030-01-02T03:04:05.000Z";
    const res = await post(s.jobs, { ...BEARER, ...JSON_CT }, body({ queue_name: "emails", priority: 5, scheduled_at: scheduledAt, max_retries: 1, metadata: { source: "crm" } }));
    expect(res.status).toBe(202);
    expect(res.json).toEqual({ status: "accepted", job_id: expect.any(String), message: expect.any(String) });
    const job = await s.service.getJob(res.json.job_id);
    expect(job).toMatchObject({
      jobType: "email.send",
      payload: { to: "a@example.com" },
      queueName: "emails",
      priority: 5,
      maxRetries: 1,
      metadata: { source: "crm" },
      status: JobStatus.SCHEDULED,
      createdBy: "webhook",
    });
    expect(job!.scheduledAt!.toISOString()).toBe(scheduledAt);
    await s.service.cancelJob(job!.id);
  });

  test("GET /jobs/:id returns the job in snake_case (same auth), 404 JSON when unknown, 401 without token", async () => {
    const created = await post(s.jobs, { ...BEARER, ...JSON_CT }, body({ queue_name: "lookup" }));
    const res = await fetch(`${s.jobs}/${created.json.job_id}`, { headers: BEARER });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: created.json.job_id, job_type: "email.send", queue_name: "lookup", status: "pending", payload: { to: "a@example.com" }, created_by: "webhook" });
    const missing = await fetch(`${s.jobs}/nope`, { headers: BEARER });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: "job_not_found" } });
    const anon = await fetch(`${s.jobs}/${created.json.job_id}`);
    expect(anon.status).toBe(401);
    expect(await anon.json()).toMatchObject({ error: { code: "missing_credentials" } });
  });

  test("a repeated idempotency_key answers 200 duplicate with the first job, one job stored", async () => {
    const first = await post(s.jobs, { ...BEARER, ...JSON_CT }, body({ idempotency_key: "order-42", queue_name: "idem" }));
    const again = await post(s.jobs, { ...BEARER, ...JSON_CT }, body({ idempotency_key: "order-42", queue_name: "idem" }));
    expect(first.status).toBe(202);
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ status: "duplicate", job_id: first.json.job_id });
    expect(await s.service.listJobs({ queueName: "idem" })).toHaveLength(1);
  });

  test("an unsigned webhook-id header (bearer auth) is the idempotency key; the body's key wins over it", async () => {
    const h = { ...BEARER, ...JSON_CT, "webhook-id": "browser-job-7" };
    const first = await post(s.jobs, h, body({ queue_name: "wid" }));
    const again = await post(s.jobs, h, body({ queue_name: "wid" }));
    expect([first.status, again.status]).toEqual([202, 200]);
    expect(again.json.job_id).toBe(first.json.job_id);
    expect((await s.service.getJob(first.json.job_id))!.idempotencyKey).toBe("bearer-id:browser-job-7");
    const own = await post(s.jobs, h, body({ queue_name: "wid", idempotency_key: "explicit" }));
    expect(own.status).toBe(202);
    expect((await s.service.getJob(own.json.job_id))!.idempotencyKey).toBe("bearer:explicit");
  });

  test("application/json; charset=UTF-8 is accepted", async () => {
    const res = await post(s.jobs, { ...BEARER, "content-type": "Application/JSON; charset=UTF-8" }, body({ queue_name: "charset" }));
    expect(res.status).toBe(202);
  });

  describe("refusals enqueue nothing", () => {
    let before: number;
    beforeAll(async () => {
      before = await s.count();
    });
    const go = async (headers: Record<string, string>, data: string | Uint8Array) => post(s.jobs, headers, data);

    test("401 without a token", async () => {
      const res = await fetch(s.jobs, { method: "POST", headers: JSON_CT, body: body() });
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
      await expectRefused(s, { status: res.status, json: await res.json() }, 401, "missing_credentials", before);
    });
    test("401 with a wrong token", async () => {
      await expectRefused(s, await go({ authorization: "Bearer wrong-token", ...JSON_CT }, body()), 401, "invalid_token", before);
    });
    test("401 with a non-bearer Authorization header", async () => {
      await expectRefused(s, await go({ authorization: "Basic dXNlcjpwYXNz", ...JSON_CT }, body()), 401, "invalid_token", before);
    });
    test("401 with a signature when only a bearer token is configured", async () => {
      const headers = await signWebhook({ secret: SECRET_NEW, id: "m1", body: body() });
      await expectRefused(s, await go({ ...headers, ...JSON_CT }, body()), 401, "missing_credentials", before);
    });
    test("415 for text/plain, for no Content-Type and for another charset", async () => {
      await expectRefused(s, await go({ ...BEARER, "content-type": "text/plain" }, body()), 415, "unsupported_media_type", before);
      await expectRefused(s, await go({ ...BEARER }, new TextEncoder().encode(body())), 415, "unsupported_media_type", before);
      await expectRefused(s, await go({ ...BEARER, "content-type": "application/json; charset=latin1" }, body()), 415, "unsupported_media_type", before);
    });
    test("400 invalid_json for malformed JSON, an empty body and invalid UTF-8", async () => {
      await expectRefused(s, await go({ ...BEARER, ...JSON_CT }, '{"job_type": "email.send",'), 400, "invalid_json", before);
      await expectRefused(s, await go({ ...BEARER, ...JSON_CT }, ""), 400, "invalid_json", before);
      await expectRefused(s, await go({ ...BEARER, ...JSON_CT }, new Uint8Array([0x7b, 0xff, 0x7d])), 400, "invalid_json", before);
    });
    test("400 invalid_body with issues naming each bad field", async () => {
      const res = await go({ ...BEARER, ...JSON_CT }, JSON.stringify({ job_type: 7, priority: "high", scheduled_at: "tomorrow", max_retries: -1, priorty: 1, payload: "text" }));
      await expectRefused(s, res, 400, "invalid_body", before);
      const paths = res.json.error.issues.map((i: { path: string }) => i.path).sort();
      expect(paths).toEqual(["job_type", "max_retries", "payload", "priority", "priorty", "scheduled_at"]);
      for (const issue of res.json.error.issues) expect(issue.message).toEqual(expect.any(String));
    });
    test("400 invalid_body for a JSON array or scalar body", async () => {
      await expectRefused(s, await go({ ...BEARER, ...JSON_CT }, "[1,2]"), 400, "invalid_body", before);
      await expectRefused(s, await go({ ...BEARER, ...JSON_CT }, "42"), 400, "invalid_body", before);
    });
    test("403 for a job type outside the allow-list", async () => {
      const res = await go({ ...BEARER, ...JSON_CT }, JSON.stringify({ job_type: "admin.wipe", payload: {} }));
      await expectRefused(s, res, 403, "job_type_not_allowed", before);
      expect(res.json.error.message).toContain("admin.wipe");
    });
    test("400 validation_failed when a per-type schema rejects the payload", async () => {
      const res = await go({ ...BEARER, ...JSON_CT }, JSON.stringify({ job_type: "typed", payload: { n: 0 } }));
      await expectRefused(s, res, 400, "validation_failed", before);
      expect(res.json.error.issues).toEqual([{ path: "payload.n", message: expect.any(String) }]);
    });
    test("413 for an oversized body with Content-Length", async () => {
      const big = body({ metadata: { pad: "x".repeat(2000) } });
      await expectRefused(s, await go({ ...BEARER, ...JSON_CT }, big), 413, "payload_too_large", before);
    });
    test("413 for an oversized chunked body without Content-Length", async () => {
      const chunk = new TextEncoder().encode(" ".repeat(256));
      const res = await postChunked(s.jobs, { ...BEARER, ...JSON_CT }, [new TextEncoder().encode('{"job_type":"email.send","payload":{},"x":"'), ...Array(16).fill(chunk), new TextEncoder().encode('"}')]);
      // Had the limit not applied to chunked bodies, the unknown field "x" would have made this a 400.
      await expectRefused(s, res, 413, "payload_too_large", before);
    });
    test("a small chunked body without Content-Length is accepted (and then counted)", async () => {
      const res = await postChunked(s.jobs, { ...BEARER, ...JSON_CT }, [new TextEncoder().encode('{"job_type":"email.send",'), new TextEncoder().encode('"payload":{"n":1},"queue_name":"chunked"}')]);
      expect(res.status).toBe(202);
      expect(await s.service.listJobs({ queueName: "chunked" })).toHaveLength(1);
      before += 1;
    });
  });

  test("unknown routes and methods answer JSON 404 and 405", async () => {
    const nf = await fetch(`${s.url}/webhooks/nowhere`, { headers: BEARER });
    expect(nf.status).toBe(404);
    expect(await nf.json()).toMatchObject({ error: { code: "not_found" } });
    const m = await fetch(s.jobs, { method: "PUT", headers: BEARER });
    expect(m.status).toBe(405);
    expect(await m.json()).toMatchObject({ error: { code: "method_not_allowed" } });
  });

  test("GET /health reports counters without auth", async () => {
    const res = await fetch(`${s.url}/webhooks/health`);
    expect(res.status).toBe(200);
    const h = await res.json();
    expect(h).toEqual({ is_running: true, jobs_created: expect.any(Number), errors: expect.any(Number), last_job_created: expect.any(String), requests_in_flight: expect.any(Number), unauthenticated_bytes: 0, unauthenticated_bytes_peak: expect.any(Number) });
    // Every job created by a 202 is counted; duplicates are not.
    expect(h.jobs_created).toBe(await s.count());
    expect(h.errors).toBeGreaterThanOrEqual(15);
    expect(h).toEqual(s.trigger.health());
  });
});

describe("Standard Webhooks signatures", () => {
  let s: Server;
  let now = Date.parse("2026-11-22T12:00:00Z");
  beforeAll(async () => {
    s = await startServer({ auth: { signingSecrets: [SECRET_NEW, SECRET_OLD] }, clock: () => now });
  });
  afterAll(() => s.close());
  const ts = () => Math.floor(now / 1000);

  test("the signature is base64 HMAC-SHA256 of id.timestamp.body with the decoded secret", async () => {
    const data = body();
    const h = await signWebhook({ secret: SECRET_NEW, id: "msg_1", timestamp: 1_700_000_000, body: data });
    const key = Buffer.from(SECRET_NEW.slice("whsec_".length), "base64");
    const expected = createHmac("sha256", key).update(`msg_1.1700000000.${data}`).digest("base64");
    expect(h).toEqual({ "webhook-id": "msg_1", "webhook-timestamp": "1700000000", "webhook-signature": `v1,${expected}` });
  });

  test("a signed request is accepted; its redelivery (same webhook-id) is a duplicate with still one job", async () => {
    const data = body({ queue_name: "signed" });
    const h = await signWebhook({ secret: SECRET_NEW, id: "msg_redeliver", timestamp: ts(), body: data });
    const first = await post(s.jobs, { ...h, ...JSON_CT }, data);
    const again = await post(s.jobs, { ...h, ...JSON_CT }, data);
    expect(first.status).toBe(202);
    expect(again).toMatchObject({ status: 200, json: { status: "duplicate", job_id: first.json.job_id } });
    const jobs = await s.service.listJobs({ queueName: "signed" });
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.idempotencyKey).toBe("sig-id:msg_redeliver");
  });

  test("rotation: a message signed with the previous secret is accepted, and one carrying several signatures", async () => {
    const data = body({ queue_name: "rotation" });
    const old = await signWebhook({ secret: SECRET_OLD, id: "msg_old", timestamp: ts(), body: data });
    expect((await post(s.jobs, { ...old, ...JSON_CT }, data)).status).toBe(202);
    const other = await signWebhook({ secret: `whsec_${btoa("unrelated-secret")}`, id: "msg_multi", timestamp: ts(), body: data });
    const good = await signWebhook({ secret: SECRET_NEW, id: "msg_multi", timestamp: ts(), body: data });
    const multi = { ...good, "webhook-signature": `${other["webhook-signature"]} v2,abc ${good["webhook-signature"]}` };
    expect((await post(s.jobs, { ...multi, ...JSON_CT }, data)).status).toBe(202);
    expect(await s.service.listJobs({ queueName: "rotation" })).toHaveLength(2);
  });

  describe("refusals enqueue nothing", () => {
    let before: number;
    beforeAll(async () => {
      before = await s.count();
    });

    test("401 missing_signature without signature headers (a bearer token is not configured)", async () => {
      await expectRefused(s, await post(s.jobs, { ...BEARER, ...JSON_CT }, body()), 401, "missing_signature", before);
      const h = await signWebhook({ secret: SECRET_NEW, id: "m", timestamp: ts(), body: body() });
      const { "webhook-timestamp": _drop, ...partial } = h;
      await expectRefused(s, await post(s.jobs, { ...partial, ...JSON_CT }, body()), 401, "missing_signature", before);
    });
    test("401 invalid_signature for a forged signature, an unknown secret and a tampered body", async () => {
      const data = body();
      const h = await signWebhook({ secret: SECRET_NEW, id: "forged", timestamp: ts(), body: data });
      const forged = { ...h, "webhook-signature": `v1,${btoa("x".repeat(32))}` };
      await expectRefused(s, await post(s.jobs, { ...forged, ...JSON_CT }, data), 401, "invalid_signature", before);
      const stranger = await signWebhook({ secret: `whsec_${btoa("someone-else")}`, id: "forged", timestamp: ts(), body: data });
      await expectRefused(s, await post(s.jobs, { ...stranger, ...JSON_CT }, data), 401, "invalid_signature", before);
      await expectRefused(s, await post(s.jobs, { ...h, ...JSON_CT }, data.replace("a@example.com", "b@example.com")), 401, "invalid_signature", before);
      // Same id signed, but a different id sent: the id is part of the signed content.
      await expectRefused(s, await post(s.jobs, { ...h, "webhook-id": "other", ...JSON_CT }, data), 401, "invalid_signature", before);
      await expectRefused(s, await post(s.jobs, { ...h, "webhook-signature": "v1,not base64!", ...JSON_CT }, data), 401, "invalid_signature", before);
    });
    test("401 timestamp_out_of_tolerance for a stale or future timestamp (300 s)", async () => {
      const data = body();
      for (const offset of [-301, 301]) {
        const h = await signWebhook({ secret: SECRET_NEW, id: `t${offset}`, timestamp: ts() + offset, body: data });
        await expectRefused(s, await post(s.jobs, { ...h, ...JSON_CT }, data), 401, "timestamp_out_of_tolerance", before);
      }
      // Within tolerance on both sides is fine (clean up the jobs afterwards).
      for (const offset of [-299, 299]) {
        const h = await signWebhook({ secret: SECRET_NEW, id: `ok${offset}`, timestamp: ts() + offset, body: data });
        expect((await post(s.jobs, { ...h, ...JSON_CT }, data)).status).toBe(202);
      }
      before += 2;
    });
    test("401 invalid_timestamp for a non-numeric timestamp", async () => {
      const h = await signWebhook({ secret: SECRET_NEW, id: "bad-ts", timestamp: ts(), body: body() });
      await expectRefused(s, await post(s.jobs, { ...h, "webhook-timestamp": "yesterday", ...JSON_CT }, body()), 401, "invalid_timestamp", before);
    });
    test("a message replayed after the tolerance window is refused even with a valid signature", async () => {
      const data = body({ queue_name: "replay" });
      const h = await signWebhook({ secret: SECRET_NEW, id: "late-replay", timestamp: ts(), body: data });
      expect((await post(s.jobs, { ...h, ...JSON_CT }, data)).status).toBe(202);
      now += 10 * 60_000;
      try {
        await expectRefused(s, await post(s.jobs, { ...h, ...JSON_CT }, data), 401, "timestamp_out_of_tolerance", before + 1);
      } finally {
        now -= 10 * 60_000;
      }
      before += 1;
    });
  });
});

describe("bearer token and signatures together: either one authenticates", () => {
  let s: Server;
  beforeAll(async () => {
    s = await startServer({ auth: { bearerToken: TOKEN, signingSecrets: [SECRET_NEW] } });
  });
  afterAll(() => s.close());

  test("a bearer token alone, a signature alone, and a good token next to a bad signature pass", async () => {
    expect((await post(s.jobs, { ...BEARER, ...JSON_CT }, body({ queue_name: "q1" }))).status).toBe(202);
    const data = body({ queue_name: "q2" });
    const h = await signWebhook({ secret: SECRET_NEW, id: "both-1", body: data });
    expect((await post(s.jobs, { ...h, ...JSON_CT }, data)).status).toBe(202);
    const bad = { ...h, "webhook-id": "both-2", "webhook-signature": `v1,${btoa("y".repeat(32))}` };
    expect((await post(s.jobs, { ...bad, ...BEARER, ...JSON_CT }, data)).status).toBe(202);
    expect(await s.count()).toBe(3);
  });

  test("a bad signature without a token, a wrong token, and nothing at all are refused", async () => {
    const data = body();
    const h = await signWebhook({ secret: SECRET_NEW, id: "both-3", body: data });
    await expectRefused(s, await post(s.jobs, { ...h, ...JSON_CT }, data + " "), 401, "invalid_signature", 3);
    await expectRefused(s, await post(s.jobs, { authorization: "Bearer nope", ...JSON_CT }, data), 401, "invalid_token", 3);
    await expectRefused(s, await post(s.jobs, JSON_CT, data), 401, "missing_credentials", 3);
  });
});

describe("errors from the JobService", () => {
  let s: Server;
  beforeAll(async () => {
    s = await startServer(
      { auth: { bearerToken: TOKEN } },
      {
        handlers: [{ jobType: "known", handle: async () => ({ success: true }) }],
        schemas: { known: v.object({ id: v.pipe(v.string(), v.uuid()) }) },
      },
    );
  });
  afterAll(() => s.close());

  test("UnknownJobTypeError -> 400 unknown_job_type", async () => {
    await expectRefused(s, await post(s.jobs, { ...BEARER, ...JSON_CT }, JSON.stringify({ job_type: "mystery", payload: {} })), 400, "unknown_job_type");
  });
  test("JobValidationError -> 400 validation_failed with its issues", async () => {
    const res = await post(s.jobs, { ...BEARER, ...JSON_CT }, JSON.stringify({ job_type: "known", payload: { id: "not-a-uuid" } }));
    await expectRefused(s, res, 400, "validation_failed");
    expect(res.json.error.issues).toEqual([{ path: "payload.id", message: expect.any(String) }]);
  });
  test("a valid job for a registered type is accepted", async () => {
    const res = await post(s.jobs, { ...BEARER, ...JSON_CT }, JSON.stringify({ job_type: "known", payload: { id: crypto.randomUUID() } }));
    expect(res.status).toBe(202);
    expect(await s.count()).toBe(1);
  });
});

describe("lifecycle", () => {
  test("503 trigger_stopped before start and after stop; start/stop are idempotent", async () => {
    const s = await startServer({ auth: { bearerToken: TOKEN } });
    try {
      await s.trigger.stop();
      await s.trigger.stop();
      expect(s.trigger.isRunning).toBe(false);
      await expectRefused(s, await post(s.jobs, { ...BEARER, ...JSON_CT }, body()), 503, "trigger_stopped");
      const health = await (await fetch(`${s.url}/webhooks/health`)).json();
      expect(health).toMatchObject({ is_running: false, jobs_created: 0, errors: 1, last_job_created: null });
      await s.trigger.start();
      await s.trigger.start();
      expect((await post(s.jobs, { ...BEARER, ...JSON_CT }, body())).status).toBe(202);
      expect(await s.count()).toBe(1);
    } finally {
      await s.close();
    }
  });

  test("a custom prefix", async () => {
    const s = await startServer({ prefix: "/hooks/v1/", auth: { bearerToken: TOKEN } });
    try {
      const res = await post(`${s.url}/hooks/v1/jobs`, { ...BEARER, ...JSON_CT }, body());
      expect(res.status).toBe(202);
      expect((await fetch(`${s.url}/webhooks/jobs`, { method: "POST" })).status).toBe(404);
    } finally {
      await s.close();
    }
  });
});
