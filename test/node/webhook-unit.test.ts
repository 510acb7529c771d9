/** Unit tests of the webhook trigger with a JobCreator stub (in-process requests via app.request). */
import { Hono } from "hono";
import { describe, expect, test } from "vitest";
import { silentLogger, StorageError, type CreateJobOptions, type Job, type JobCreator } from "../../src/core/index.ts";
import {
  createWebhookTrigger,
  createWebhookVerifier,
  generateWebhookSecret,
  signWebhook,
  WebhookConfigError,
  type WebhookTriggerOptions,
} from "../../src/triggers/webhook/index.ts";

interface Call {
  jobType: string;
  payload: unknown;
  options?: CreateJobOptions;
}

function stub(behaviour?: (call: Call) => Job | Error) {
  const calls: Call[] = [];
  const creator: JobCreator = {
    async createJob<P>(jobType: string, payload: P, options?: CreateJobOptions) {
      const call = { jobType, payload, options };
      calls.push(call);
      const out = behaviour?.(call) ?? ({ id: `job-${calls.length}`, jobType, payload } as unknown as Job);
      if (out instanceof Error) throw out;
      return out as Job<P>;
    },
  };
  return { creator, calls };
}

async function started(options: Partial<WebhookTriggerOptions> & { jobCreator: JobCreator }) {
  const t = createWebhookTrigger({ logger: silentLogger, ...options });
  await t.start();
  return t;
}

const post = (t: { app: Hono<any> }, data: unknown, headers: Record<string, string> = {}) =>
  t.app.request("/webhooks/jobs", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof data === "string" ? data : JSON.stringify(data),
  });

describe("mapping the wire body to createJob", () => {
  test("snake_case fields become CreateJobOptions; nulls are absent; webhook-id is the key", async () => {
    const { creator, calls } = stub();
    const t = await started({ jobCreator: creator });
    const res = await post(
      t,
      { job_type: "x", payload: { list: [1, 2] }, queue_name: null, priority: -3, delay_ms: 5000, timeout_ms: 250, max_retries: 0, metadata: { a: 1 }, scheduled_at: null },
      { "webhook-id": "wh-1" },
    );
    expect(res.status).toBe(202);
    expect(calls).toEqual([
      {
        jobType: "x",
        payload: { list: [1, 2] },
        options: { createdBy: "webhook", priority: -3, delayMs: 5000, timeoutMs: 250, maxRetries: 0, metadata: { a: 1 }, idempotencyKey: "open-id:wh-1" },
      },
    ]);
  });

  test("flow control: concurrency_key, concurrency_limit, rate_limit and debounce map to createJob options", async () => {
    const { creator, calls } = stub();
    const t = await started({ jobCreator: creator });
    const res = await post(t, {
      job_type: "x",
      concurrency_key: "acct-1",
      concurrency_limit: 2,
      rate_limit: { key: "api", limit: 10, period_ms: 1000 },
      debounce: { key: "doc-1", delay_ms: 500, max_delay_ms: 5000 },
    });
    expect(res.status).toBe(202);
    expect(calls[0]!.options).toMatchObject({
      concurrencyKey: "acct-1",
      concurrencyLimit: 2,
      rateLimit: { key: "api", limit: 10, periodMs: 1000 },
      debounce: { key: "doc-1", delayMs: 500, maxDelayMs: 5000 },
    });
  });

  test.each([
    [{ concurrency_key: "" }, "concurrency_key"],
    [{ concurrency_limit: 0 }, "concurrency_limit"],
    [{ rate_limit: { key: "k", limit: 1, period_ms: 0 } }, "rate_limit.period_ms"],
    [{ rate_limit: { key: "k", limit: 1 } }, "rate_limit.period_ms"],
    [{ rate_limit: { key: "k", limit: 1, period_ms: 5, extra: 1 } }, "rate_limit.extra"],
    [{ debounce: { key: "k", delay_ms: -1 } }, "debounce.delay_ms"],
    [{ debounce: "soon" }, "debounce"],
  ] as const)("flow control: %o is a 400 naming %s, nothing created", async (fields, path) => {
    const { creator, calls } = stub();
    const t = await started({ jobCreator: creator });
    const res = await post(t, { job_type: "x", ...fields });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; issues: { path: string }[] } };
    expect(body.error.code).toBe("invalid_body");
    expect(body.error.issues[0]!.path).toBe(path);
    expect(calls).toEqual([]);
  });

  test("payload must be a JSON object: a string, number, array, boolean or null is a 400 naming payload; absent is {}", async () => {
    const { creator, calls } = stub();
    const t = await started({ jobCreator: creator });
    for (const bad of ["str", 7, [1, 2], [], true, null]) {
      const res = await post(t, { job_type: "x", payload: bad });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: { code: "invalid_body", issues: [{ path: "payload", message: "payload must be a JSON object" }] } });
    }
    expect(calls).toHaveLength(0);
    expect((await post(t, { job_type: "x" })).status).toBe(202);
    expect((await post(t, { job_type: "x", priority: 1, metadata: { m: 1 } })).status).toBe(202);
    expect(calls.map((c) => c.payload)).toEqual([{}, {}]);
    // Each absent payload gets its own object.
    expect(calls[0]!.payload).not.toBe(calls[1]!.payload);
  });

  test("a webhook-id longer than 512 characters is refused, naming the header", async () => {
    const { creator, calls } = stub();
    const t = await started({ jobCreator: creator });
    const res = await post(t, { job_type: "x", payload: {} }, { "webhook-id": "w".repeat(513) });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: "invalid_body", issues: [{ path: "webhook-id" }] } });
    expect(calls).toHaveLength(0);
  });

  test("scheduled_at needs a zone designator; offsets are honoured", async () => {
    const { creator, calls } = stub();
    const t = await started({ jobCreator: creator });
    const local = await post(t, { job_type: "x", payload: {}, scheduled_at: "2030-01-01T09:00:00" });
    expect(local.status).toBe(400);
    expect(await local.json()).toMatchObject({ error: { code: "invalid_body", issues: [{ path: "scheduled_at" }] } });
    expect((await post(t, { job_type: "x", payload: {}, scheduled_at: "2030-01-01T09:00:00+02:00" })).status).toBe(202);
    expect(calls[0]!.options!.scheduledAt!.toISOString()).toBe("2030-01-01T07:00:00.000Z");
  });

  test("a per-type schema's output is what gets enqueued", async () => {
    const { creator, calls } = stub();
    const upper = {
      "~standard": { version: 1 as const, vendor: "test", validate: (v: unknown) => ({ value: { name: String((v as { name: string }).name).toUpperCase() } }) },
    };
    const t = await started({ jobCreator: creator, schemas: { x: upper } });
    expect((await post(t, { job_type: "x", payload: { name: "ada" } })).status).toBe(202);
    expect(calls[0]!.payload).toEqual({ name: "ADA" });
  });

  test("metadata keeps every key, including ones named like Object.prototype members; non-objects are refused", async () => {
    const { creator, calls } = stub();
    const t = await started({ jobCreator: creator });
    const body = '{"job_type":"x","payload":{},"metadata":{"constructor":1,"__proto__":{"a":2},"toString":"s","ok":true}}';
    expect((await post(t, body)).status).toBe(202);
    const metadata = calls[0]!.options!.metadata!;
    expect(Object.keys(metadata)).toEqual(["constructor", "__proto__", "toString", "ok"]);
    expect(Object.getPrototypeOf(metadata)).toBe(Object.prototype);
    for (const bad of [[1], "m", 3]) {
      const res = await post(t, { job_type: "x", payload: {}, metadata: bad });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { issues: { path: string }[] } }).error.issues[0]!.path).toBe("metadata");
    }
    expect(calls).toHaveLength(1);
  });

  test("a job type named like an Object.prototype member has no schema: the payload passes unchanged", async () => {
    const { creator, calls } = stub();
    const t = await started({ jobCreator: creator, schemas: { x: { "~standard": { version: 1 as const, vendor: "test", validate: () => ({ issues: [{ message: "no" }] }) } } } });
    for (const jobType of ["constructor", "toString", "__proto__"]) {
      expect((await post(t, { job_type: jobType, payload: { n: 1 } })).status).toBe(202);
    }
    expect(calls.map((c) => [c.jobType, c.payload])).toEqual([["constructor", { n: 1 }], ["toString", { n: 1 }], ["__proto__", { n: 1 }]]);
  });

  test("a duplicate job (marked by the JobService) answers 200; an unmarked job is 202", async () => {
    const DUP = Symbol.for("portico-jobs.duplicate");
    const { creator } = stub(() => {
      const job = { id: "existing" } as Job;
      Object.defineProperty(job, DUP, { value: true });
      return job;
    });
    const t = await started({ jobCreator: creator });
    const res = await post(t, { job_type: "x", payload: {} });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "duplicate", job_id: "existing" });
    expect(t.health().jobs_created).toBe(0);
  });
});

describe("creator failures", () => {
  test("StorageError -> 503 storage_error; other errors -> 500 internal_error without leaking the message", async () => {
    const storage = await started({ jobCreator: stub(() => new StorageError("quota exceeded")).creator });
    const r1 = await post(storage, { job_type: "x", payload: {} });
    expect(r1.status).toBe(503);
    expect(await r1.json()).toMatchObject({ error: { code: "storage_error" } });
    const broken = await started({ jobCreator: stub(() => new Error("secret db password in message")).creator });
    const r2 = await post(broken, { job_type: "x", payload: {} });
    expect(r2.status).toBe(500);
    const j2 = await r2.json();
    expect(j2).toMatchObject({ error: { code: "internal_error" } });
    expect(JSON.stringify(j2)).not.toContain("password");
    expect(broken.health().errors).toBe(1);
  });

  test("a payload schema that throws -> 500 internal_error, counted, nothing created", async () => {
    const { creator, calls } = stub();
    const throwing = { "~standard": { version: 1 as const, vendor: "test", validate: () => { throw new Error("schema bug"); } } };
    const t = await started({ jobCreator: creator, schemas: { x: throwing } });
    const res = await post(t, { job_type: "x", payload: {} });
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({ error: { code: "internal_error" } });
    expect(calls).toHaveLength(0);
    expect(t.health().errors).toBe(1);
  });

  test("GET /jobs/:id without getJob (a creator that cannot read) -> 404 job_lookup_unavailable", async () => {
    const t = await started({ jobCreator: stub().creator });
    const res = await t.app.request("/webhooks/jobs/abc");
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: "job_lookup_unavailable" } });
  });

  test("an explicit getJob is used", async () => {
    const job = { id: "j1", queueName: "default", jobType: "x", payload: {}, priority: 0, maxRetries: 3, retryCount: 0, scheduledAt: null, startedAt: null, completedAt: null, failedAt: null, status: "pending", errorMessage: null, createdBy: null, createdAt: new Date(0), metadata: {}, idempotencyKey: null, result: null } as unknown as Job;
    const t = await started({ jobCreator: stub().creator, getJob: async (id) => (id === "j1" ? job : null) });
    const res = await t.app.request("/webhooks/jobs/j1");
    expect(await res.json()).toMatchObject({ id: "j1", job_type: "x", created_at: "1970-01-01T00:00:00.000Z" });
  });
});

test("stop() waits for a job creation in flight, then refuses new requests with 503", async () => {
  let release!: () => void;
  let entered!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const reached = new Promise<void>((r) => (entered = r));
  const { creator, calls } = stub();
  const slow: JobCreator = {
    async createJob(jobType, payload, options) {
      entered();
      await gate;
      return creator.createJob(jobType, payload, options);
    },
  };
  const t = await started({ jobCreator: slow });
  const inFlight = post(t, { job_type: "x", payload: {} });
  await reached;
  let stopped = false;
  const stopping = t.stop().then(() => (stopped = true));
  await new Promise((r) => setImmediate(r));
  expect(stopped).toBe(false);
  const refused = await post(t, { job_type: "x", payload: {} });
  expect(refused.status).toBe(503);
  expect(await refused.json()).toMatchObject({ error: { code: "trigger_stopped" } });
  release();
  expect((await inFlight).status).toBe(202);
  await stopping;
  expect(calls).toHaveLength(1);
});

test("bearer tokens must match exactly: prefixes, extensions and case changes are refused", async () => {
  const { creator, calls } = stub();
  const t = await started({ jobCreator: creator, auth: { bearerToken: "Abc123-token" } });
  for (const token of ["Abc123-toke", "Abc123-tokenX", "abc123-token", "Abc123-tokeN"]) {
    const res = await post(t, { job_type: "x", payload: {} }, { authorization: `Bearer ${token}` });
    expect(res.status, token).toBe(401);
    expect(await res.json()).toMatchObject({ error: { code: "invalid_token" } });
  }
  expect(calls).toHaveLength(0);
  expect((await post(t, { job_type: "x", payload: {} }, { authorization: "Bearer Abc123-token" })).status).toBe(202);
});

test("mounted in a parent Hono app, routes and JSON errors still apply", async () => {
  const t = await started({ jobCreator: stub().creator, auth: { bearerToken: "tok" } });
  const parent = new Hono();
  parent.get("/", (c) => c.text("home"));
  parent.route("/", t.app);
  expect((await parent.request("/")).status).toBe(200);
  const res = await parent.request("/webhooks/jobs", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
  expect(res.status).toBe(401);
  expect(await res.json()).toMatchObject({ error: { code: "missing_credentials" } });
});

describe("options are validated at construction", () => {
  const creator = stub().creator;
  test.each([
    [{ jobCreator: {} as JobCreator }, "jobCreator"],
    [{ jobCreator: creator, prefix: "hooks" }, "prefix"],
    [{ jobCreator: creator, maxBodyBytes: 0 }, "maxBodyBytes"],
    [{ jobCreator: creator, allowedJobTypes: ["a", ""] }, "allowedJobTypes"],
    [{ jobCreator: creator, auth: { bearerToken: "has space" } }, "auth.bearerToken"],
    [{ jobCreator: creator, auth: { signingSecrets: ["whsec_ok" + "A".repeat(8), "whsec_!!notbase64"] } }, "auth.signingSecrets[1]"],
    [{ jobCreator: creator, auth: { signingSecrets: [""] } }, "auth.signingSecrets[0]"],
    [{ jobCreator: creator, auth: { toleranceSeconds: -1 } }, "auth.toleranceSeconds"],
    [{ jobCreator: creator, schemas: { x: {} as never } }, "schemas.x"],
  ] as const)("%o names %s", (options, field) => {
    expect(() => createWebhookTrigger({ logger: silentLogger, ...(options as WebhookTriggerOptions) })).toThrow(WebhookConfigError);
    expect(() => createWebhookTrigger({ logger: silentLogger, ...(options as WebhookTriggerOptions) })).toThrow(
      expect.objectContaining({ code: "invalid_config", field }),
    );
  });
});

test("createWebhookVerifier checks signatures outside Hono too", async () => {
  const secret = generateWebhookSecret();
  expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
  const now = 1_800_000_000_000;
  const verifier = createWebhookVerifier({ secrets: [secret], clock: () => now });
  const body = new TextEncoder().encode('{"a":1}');
  const headers = new Headers(await signWebhook({ secret, id: "id-1", timestamp: new Date(now), body }));
  expect(await verifier.verify(headers, body)).toEqual({ ok: true, secretIndex: 0 });
  expect(await verifier.verify(headers, new TextEncoder().encode('{"a":2}'))).toMatchObject({ ok: false, code: "invalid_signature" });
});

test("the bearer fast path accepts exactly the headers Hono's bearer-auth accepts", async () => {
  const { bearerAuth } = await import("hono/bearer-auth");
  const { createBearerFastPath } = await import("../../src/triggers/webhook/auth.ts");
  const { resolveWebhookOptions } = await import("../../src/triggers/webhook/options.ts");
  const token = "Abc_1.2~3+4/5-6==";
  const fast = createBearerFastPath(resolveWebhookOptions({ jobCreator: stub().creator, auth: { bearerToken: token } }))!;
  expect(fast).not.toBeNull();
  // The reference: Hono's middleware alone, on its own app.
  const reference = new Hono().use(bearerAuth({ token })).get("/", (c) => c.text("ok"));
  const probe = new Hono<any>().get("/", (c) => c.text(fast(c) ? "yes" : "no"));
  const headers = [
    `Bearer ${token}`, `bearer ${token}`, `BEARER ${token}`, `Bearer  ${token}`, `Bearer\t${token}`, `Bearer${token}`,
    `Bearer ${token} `, `Bearer ${token}x`, `Bearer ${token.slice(0, -1)}`, `Basic ${token}`, `Bearer`, `Bearer `, "",
    `Bearer ${token.toLowerCase()}`, `Bearer \u00a0${token}`, ` Bearer ${token}`, `Token ${token}`,
  ];
  let acceptedCount = 0;
  for (const h of headers) {
    const init = h === "" ? {} : { headers: { authorization: h } };
    const accepted = (await reference.request("/", init)).status === 200;
    const fastAccepts = (await (await probe.request("/", init)).text()) === "yes";
    expect({ header: h, fastAccepts }).toEqual({ header: h, fastAccepts: accepted });
    if (accepted) acceptedCount++;
  }
  // Both sides of the decision are exercised.
  expect(acceptedCount).toBeGreaterThan(0);
  expect(acceptedCount).toBeLessThan(headers.length);
});
