/**
 * The webhook trigger under hostile input (issue #10): nothing read before authentication, a
 * shared budget for signed bodies, body deadlines, a bounded stop, reads by token only, keys
 * scoped per credential, signatures compared as text, and the ingress rate limit. In-process
 * (app.request) so the tests can see exactly which bytes of a body were pulled.
 */
import * as v from "valibot";
import { describe, expect, test } from "vitest";
import { JobService, silentLogger } from "../../src/core/index.ts";
import { MemoryJobQueue } from "../../src/drivers/memory.ts";
import {
  createWebhookTrigger,
  signWebhook,
  WebhookConfigError,
  type WebhookTrigger,
  type WebhookTriggerOptions,
} from "../../src/triggers/webhook/index.ts";

const TOKEN = "hardening-token";
const READ_TOKEN = "read-only-token";
const SECRET = `whsec_${btoa("hardening-secret-key-bytes-01234")}`;
const encoder = new TextEncoder();

interface Setup {
  t: WebhookTrigger;
  service: JobService;
  count(): Promise<number>;
}

async function setup(options: Partial<WebhookTriggerOptions> = {}): Promise<Setup> {
  const queue = new MemoryJobQueue();
  const service = new JobService({ queue });
  const t = createWebhookTrigger({ jobCreator: service, logger: silentLogger, ...options });
  await t.start();
  return { t, service, count: async () => (await queue.stats()).total };
}

/** A request body that counts what was pulled from it; after `chunks` it stalls (or ends). */
function body(chunks: Uint8Array[], { stall = false } = {}) {
  let pulled = 0;
  let i = 0;
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        pulled++;
        if (i < chunks.length) controller.enqueue(chunks[i++]!);
        else if (stall) return new Promise<void>(() => {});
        else controller.close();
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, pulled: () => pulled };
}

const bytes = (n: number) => encoder.encode("x".repeat(n));

function post(t: WebhookTrigger, headers: Record<string, string>, data: string | ReadableStream<Uint8Array>, path = "/webhooks/jobs") {
  const init: RequestInit & { duplex?: "half" } = {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: data,
  };
  if (typeof data !== "string") init.duplex = "half";
  return t.app.request(path, init);
}

const job = (extra: Record<string, unknown> = {}) => JSON.stringify({ job_type: "x", payload: { n: 1 }, ...extra });
const now = () => Math.floor(Date.now() / 1000);
const sign = (id: string, data: string, timestamp = now()) => signWebhook({ secret: SECRET, id, timestamp, body: data });
const code = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;

describe("credentials are checked before any byte of the body is read", () => {
  test("a bearer refusal (no token, wrong token, malformed header) pulls nothing", async () => {
    for (const auth of [{ bearerToken: TOKEN }, { bearerToken: TOKEN, signingSecrets: [SECRET] }]) {
      const { t, count } = await setup({ auth });
      for (const [headers, expected] of [
        [{}, "missing_credentials"],
        [{ authorization: "Bearer wrong-token" }, "invalid_token"],
        [{ authorization: "Basic abc" }, "invalid_token"],
      ] as const) {
        const b = body([bytes(512)], { stall: true });
        const res = await post(t, headers, b.stream);
        expect(res.status).toBe(401);
        expect(await code(res)).toBe(expected);
        expect(b.pulled()).toBe(0);
      }
      expect(await count()).toBe(0);
    }
  });

  test("a signed request with missing, malformed or stale headers is refused before its body is read", async () => {
    const { t, count } = await setup({ auth: { signingSecrets: [SECRET] } });
    const good = await sign("msg_1", job());
    const cases: [Record<string, string>, string][] = [
      [{}, "missing_signature"],
      [{ ...good, "webhook-timestamp": "soon" }, "invalid_timestamp"],
      [{ ...good, "webhook-timestamp": String(now() - 3600) }, "timestamp_out_of_tolerance"],
      [{ ...good, "webhook-signature": "v2,abc" }, "invalid_signature"],
    ];
    for (const [headers, expected] of cases) {
      const b = body([bytes(512)], { stall: true });
      const res = await post(t, headers, b.stream);
      expect(res.status).toBe(401);
      expect(await code(res)).toBe(expected);
      expect(b.pulled()).toBe(0);
    }
    expect(await count()).toBe(0);
  });
});

describe("signed bodies are buffered within one budget shared by all requests", () => {
  test("stalled uploads hold at most maxUnauthenticatedBytes; past it 503 server_busy with Retry-After, unread", async () => {
    const { t, count } = await setup({ auth: { signingSecrets: [SECRET] }, maxBodyBytes: 1024, maxUnauthenticatedBytes: 2048 });
    const headers = await sign("msg_stall", job());
    // Two uploads of 900 bytes that never finish.
    const stalled = [body([bytes(900)], { stall: true }), body([bytes(900)], { stall: true })];
    const pending = stalled.map((b) => post(t, headers, b.stream));
    await expect.poll(() => t.health().unauthenticated_bytes).toBe(1800);
    // A declared length that does not fit is refused from the header.
    const declared = body([bytes(1000)]);
    const busy = await post(t, { ...headers, "content-length": "1000" }, declared.stream);
    expect(busy.status).toBe(503);
    expect(busy.headers.get("retry-after")).toBe("1");
    expect(await code(busy)).toBe("server_busy");
    expect(declared.pulled()).toBe(0);
    // A chunked one is refused as soon as it passes the budget.
    const chunked = body([bytes(200), bytes(200), bytes(200)], { stall: true });
    const busy2 = await post(t, headers, chunked.stream);
    expect(busy2.status).toBe(503);
    expect(chunked.pulled()).toBeLessThanOrEqual(2);
    expect(t.health().unauthenticated_bytes).toBe(1800);
    expect(t.health().unauthenticated_bytes_peak).toBeLessThanOrEqual(2048);
    // stop() cuts the stalled uploads short: answered 503, their budget returned.
    await t.stop({ timeoutMs: 20 });
    for (const res of await Promise.all(pending)) {
      expect(res.status).toBe(503);
      expect(await code(res)).toBe("trigger_stopped");
    }
    expect(t.health()).toMatchObject({ unauthenticated_bytes: 0, requests_in_flight: 0 });
    expect(await count()).toBe(0);
  });

  test("maxUnauthenticatedBytes below maxBodyBytes is refused at construction", () => {
    expect(() => createWebhookTrigger({ jobCreator: new JobService({ queue: new MemoryJobQueue() }), maxBodyBytes: 2048, maxUnauthenticatedBytes: 1024 })).toThrow(
      expect.objectContaining({ field: "maxUnauthenticatedBytes" }),
    );
  });
});

describe("body deadline and stop", () => {
  test("a body that stalls past bodyTimeoutMs is answered 408 request_timeout (bearer and signed), budget returned", async () => {
    const { t, count } = await setup({ auth: { bearerToken: TOKEN, signingSecrets: [SECRET] }, bodyTimeoutMs: 60 });
    const bearer = await post(t, { authorization: `Bearer ${TOKEN}`, "content-length": "100" }, body([bytes(10)], { stall: true }).stream);
    expect(bearer.status).toBe(408);
    expect(await code(bearer)).toBe("request_timeout");
    expect(bearer.headers.get("connection")).toBe("close");
    const chunked = await post(t, { authorization: `Bearer ${TOKEN}` }, body([bytes(10)], { stall: true }).stream);
    expect(chunked.status).toBe(408);
    const signed = await post(t, await sign("msg_slow", job()), body([bytes(10)], { stall: true }).stream);
    expect(signed.status).toBe(408);
    expect(t.health()).toMatchObject({ unauthenticated_bytes: 0, requests_in_flight: 0 });
    expect(await count()).toBe(0);
  });

  test("stop() waits at most its timeout for a stalled upload, which is then answered 503", async () => {
    const { t } = await setup({ auth: { bearerToken: TOKEN } });
    const pending = post(t, { authorization: `Bearer ${TOKEN}` }, body([bytes(10)], { stall: true }).stream);
    await expect.poll(() => t.health().requests_in_flight).toBe(1);
    await t.stop({ timeoutMs: 10 });
    const res = await pending;
    expect(res.status).toBe(503);
    expect(await code(res)).toBe("trigger_stopped");
  });
});

describe("reads take a bearer token only", () => {
  test("a signed GET is 401; the bearer token and the read token read; the read token cannot create", async () => {
    const { t } = await setup({ auth: { bearerToken: TOKEN, signingSecrets: [SECRET], readToken: READ_TOKEN } });
    const created = await post(t, { authorization: `Bearer ${TOKEN}` }, job());
    const { job_id } = (await created.json()) as { job_id: string };
    const path = `/webhooks/jobs/${job_id}`;
    const signed = await t.app.request(path, { headers: await sign("msg_read", "") });
    expect(signed.status).toBe(401);
    expect(await code(signed)).toBe("missing_credentials");
    expect((await t.app.request(path, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    expect((await t.app.request(path, { headers: { authorization: `Bearer ${READ_TOKEN}` } })).status).toBe(200);
    expect((await t.app.request(path, { headers: { authorization: "Bearer nope" } })).status).toBe(401);
    const write = await post(t, { authorization: `Bearer ${READ_TOKEN}` }, job());
    expect(write.status).toBe(401);
  });

  test("with signing secrets only, reads are refused (a signature never authorizes a read); with no auth they are open", async () => {
    const signedOnly = await setup({ auth: { signingSecrets: [SECRET] } });
    const data = job();
    const created = await post(signedOnly.t, await sign("msg_c", data), data);
    expect(created.status).toBe(202);
    const { job_id } = (await created.json()) as { job_id: string };
    const res = await signedOnly.t.app.request(`/webhooks/jobs/${job_id}`, { headers: await sign("msg_c", "") });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain("readToken");

    const open = await setup();
    const id = ((await (await post(open.t, {}, job())).json()) as { job_id: string }).job_id;
    expect((await open.t.app.request(`/webhooks/jobs/${id}`)).status).toBe(200);
  });
});

describe("idempotency keys are scoped by credential and by source", () => {
  test("a bearer client cannot squat a signing sender's webhook-id: both jobs are kept", async () => {
    const { t, service } = await setup({ auth: { bearerToken: TOKEN, signingSecrets: [SECRET] } });
    const bearer = { authorization: `Bearer ${TOKEN}` };
    const squat = await post(t, { ...bearer, "webhook-id": "msg_42" }, job({ payload: { from: "squatter" } }));
    expect(squat.status).toBe(202);
    const squatBody = await post(t, bearer, job({ payload: { from: "squatter" }, idempotency_key: "msg_42" }));
    expect(squatBody.status).toBe(202);
    const data = job({ payload: { from: "sender" } });
    const real = await post(t, await sign("msg_42", data), data);
    expect(real.status).toBe(202);
    const realId = ((await real.json()) as { job_id: string }).job_id;
    // The sender's redelivery is its own duplicate; the squatter's retry is the squatter's.
    const replay = await post(t, await sign("msg_42", data), data);
    expect(await replay.json()).toMatchObject({ status: "duplicate", job_id: realId });
    expect((await post(t, { ...bearer, "webhook-id": "msg_42" }, job())).status).toBe(200);
    const jobs = await service.listJobs({});
    expect(jobs.map((j) => j.idempotencyKey).sort()).toEqual(["bearer-id:msg_42", "bearer:msg_42", "sig-id:msg_42"]);
    expect((await service.getJob(realId))!.payload).toEqual({ from: "sender" });
  });

  test("keys longer than 500 characters are refused, naming the field or header", async () => {
    const { t, count } = await setup();
    const long = await post(t, {}, job({ idempotency_key: "k".repeat(501) }));
    expect(long.status).toBe(400);
    expect(JSON.stringify(await long.json())).toContain("idempotency_key");
    const header = await post(t, { "webhook-id": "w".repeat(501) }, job());
    expect(header.status).toBe(400);
    expect(JSON.stringify(await header.json())).toContain("webhook-id");
    expect((await post(t, {}, job({ idempotency_key: "k".repeat(500) }))).status).toBe(202);
    expect(await count()).toBe(1);
  });
});

describe("signatures are compared on their base64 text, as the reference library does", () => {
  test("unpadded and non-canonical encodings of the right bytes are refused", async () => {
    const { t, count } = await setup({ auth: { signingSecrets: [SECRET] } });
    const data = job();
    const h = await sign("msg_b64", data);
    const text = h["webhook-signature"].slice(3);
    expect(text).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    // 32 bytes use 256 of the 258 bits of 43 characters: the last character's 2 low bits are free.
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const last = alphabet.indexOf(text[42]!);
    const nonCanonical = `${text.slice(0, 42)}${alphabet[last ^ 1]}=`;
    expect(Uint8Array.from(atob(nonCanonical), (ch) => ch.charCodeAt(0))).toEqual(Uint8Array.from(atob(text), (ch) => ch.charCodeAt(0)));
    for (const sig of [text.slice(0, 43), nonCanonical, `${text}=`]) {
      const res = await post(t, { ...h, "webhook-signature": `v1,${sig}` }, data);
      expect(res.status, sig).toBe(401);
      expect(await code(res)).toBe("invalid_signature");
    }
    expect((await post(t, h, data)).status).toBe(202);
    expect(await count()).toBe(1);
  });

  test("at most 16 v1 signatures of a header are compared", async () => {
    const { t, count } = await setup({ auth: { signingSecrets: [SECRET] } });
    const junk = (n: number) => Array.from({ length: n }, (_, i) => `v1,${btoa(String(i).padStart(32, "0"))}`);
    const data16 = job({ queue_name: "sixteen" });
    const h16 = await sign("msg_16", data16);
    const at16 = await post(t, { ...h16, "webhook-signature": [...junk(15), h16["webhook-signature"]].join(" ") }, data16);
    expect(at16.status).toBe(202);
    const data17 = job({ queue_name: "seventeen" });
    const h17 = await sign("msg_17", data17);
    // Other versions do not count toward the cap.
    const at17 = await post(t, { ...h17, "webhook-signature": ["v2,x", ...junk(16), h17["webhook-signature"]].join(" ") }, data17);
    expect(at17.status).toBe(401);
    expect(await count()).toBe(1);
  });
});

describe("ingress rate limit", () => {
  test("by job type: over perMinute in any 60 s window is 429 with Retry-After, nothing enqueued", async () => {
    let clock = 1_000_000;
    const { t, count } = await setup({ rateLimit: { perMinute: 2 }, clock: () => clock });
    const send = (type: string) => post(t, {}, JSON.stringify({ job_type: type }));
    expect((await send("a")).status).toBe(202);
    clock += 20_000;
    expect((await send("a")).status).toBe(202);
    const over = await send("a");
    expect(over.status).toBe(429);
    expect(over.headers.get("retry-after")).toBe("40");
    expect(await code(over)).toBe("rate_limited");
    expect((await send("b")).status).toBe(202);
    clock += 40_000; // the first "a" leaves the window
    expect((await send("a")).status).toBe(202);
    const again = await send("a");
    expect(again.status).toBe(429);
    expect(again.headers.get("retry-after")).toBe("20");
    expect(await count()).toBe(4);
    expect(t.health().errors).toBe(2);
  });

  test("by credential: the bearer token and each signing secret have their own count", async () => {
    const clock = 5_000_000;
    const other = `whsec_${btoa("another-secret-key-bytes-0123456")}`;
    const { t, count } = await setup({
      auth: { bearerToken: TOKEN, signingSecrets: [SECRET, other] },
      rateLimit: { perMinute: 1, by: "credential" },
      clock: () => clock,
    });
    const bearer = { authorization: `Bearer ${TOKEN}` };
    expect((await post(t, bearer, job())).status).toBe(202);
    expect((await post(t, bearer, job())).status).toBe(429);
    const ts = Math.floor(clock / 1000);
    const d1 = job({ queue_name: "s1" });
    expect((await post(t, await signWebhook({ secret: SECRET, id: "m1", timestamp: ts, body: d1 }), d1)).status).toBe(202);
    const d2 = job({ queue_name: "s2" });
    expect((await post(t, await signWebhook({ secret: SECRET, id: "m2", timestamp: ts, body: d2 }), d2)).status).toBe(429);
    expect((await post(t, await signWebhook({ secret: other, id: "m3", timestamp: ts, body: d2 }), d2)).status).toBe(202);
    expect(await count()).toBe(3);
  });

  test.each([
    [{ perMinute: 0 }, "rateLimit.perMinute"],
    [{ perMinute: 1.5 }, "rateLimit.perMinute"],
    [{ perMinute: 10, by: "ip" }, "rateLimit.by"],
  ])("%o is refused naming %s", (rateLimit, field) => {
    const make = () => createWebhookTrigger({ jobCreator: new JobService({ queue: new MemoryJobQueue() }), rateLimit: rateLimit as never });
    expect(make).toThrow(WebhookConfigError);
    expect(make).toThrow(expect.objectContaining({ field }));
  });
});

describe("hopeless input is a 4xx, never a 5xx", () => {
  const nested = (depth: number) => `{"job_type":"x","payload":${'{"a":'.repeat(depth)}1${"}".repeat(depth)}}`;

  test("deep nesting (3,000 to 170,000 levels, up to the 1 MiB body) answers 400 naming payload", async () => {
    const { t, count } = await setup();
    for (const depth of [300, 2_203, 3_000, 5_000, 20_000, 170_000]) {
      const res = await post(t, {}, nested(depth));
      expect(res.status, `depth ${depth}`).toBe(400);
      const { error } = (await res.json()) as { error: { code: string; issues: { path: string }[] } };
      expect(error.code).toBe("validation_failed");
      expect(error.issues[0]!.path).toMatch(/^payload/);
    }
    expect((await post(t, {}, nested(200))).status).toBe(202);
    expect(await count()).toBe(1);
  });

  test("a payload over the JobService's maxPayloadBytes answers 413", async () => {
    const queue = new MemoryJobQueue();
    const t = createWebhookTrigger({ jobCreator: new JobService({ queue, maxPayloadBytes: 1_000 }), logger: silentLogger });
    await t.start();
    const res = await post(t, {}, JSON.stringify({ job_type: "x", payload: { s: "x".repeat(2_000) } }));
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: { code: "payload_too_large", issues: [{ path: expect.stringMatching(/^payload/) }] } });
    expect((await queue.stats()).total).toBe(0);
  });

  test("a recursive payload schema overflowing on deep input answers 400, not 500", async () => {
    type Tree = { a?: Tree | number };
    const tree: v.GenericSchema<Tree> = v.object({ a: v.optional(v.union([v.number(), v.lazy(() => tree)])) });
    const { t, count } = await setup({ schemas: { x: tree } });
    const res = await post(t, {}, nested(150_000));
    expect(res.status).toBe(400);
    expect(await code(res)).toBe("validation_failed");
    expect((await post(t, {}, nested(10))).status).toBe(202);
    expect(await count()).toBe(1);
  });
});
