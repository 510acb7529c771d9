/** createWebhookTrigger: a JobTrigger that turns authenticated HTTP requests into jobs. */
import { Hono, type Context } from "hono";
import { HTTPException } from "hono/http-exception";
import {
  isDuplicateJob,
  jsonLogger,
  PorticoError,
  systemClock,
  type JobTrigger,
  type ValidationIssue,
} from "../../core/index.ts";
import { formatIssuePath } from "../../core/standard-schema.ts";
import { HealthCounters, type TriggerHealth } from "../health.ts";
import { createAuthenticator, type Authenticated, type PendingSignature } from "./auth.ts";
import { sizeByHeader } from "./body-limit.ts";
import { ByteBudget } from "./budget.ts";
import { isJsonContentType, parseJobRequest, parseJson, toCreateOptions } from "./body.ts";
import { errorResponse, WEBHOOK_ERROR_STATUS, type WebhookErrorCode } from "./errors.ts";
import { MAX_CLIENT_KEY_LENGTH, scopedIdempotencyKey } from "./idempotency.ts";
import { resolveWebhookOptions, type WebhookTriggerOptions } from "./options.ts";
import { RateLimiter } from "./rate-limit.ts";
import { decodeBody, type WebhookEnv } from "./raw-body.ts";
import { readBytes, readText, type ReadLimits } from "./read-body.ts";
import { OpenRequests, type OpenRequest } from "./requests.ts";
import { toWireJob } from "./wire.ts";

/** Body of a 202 (new job) or 200 (repeated idempotency key / webhook-id) answer. */
export interface WebhookJobResponse {
  status: "accepted" | "duplicate";
  job_id: string;
  message: string;
}

/** The webhook trigger's health: the shared counters plus what its open requests hold. */
export interface WebhookHealth extends TriggerHealth {
  /** Job requests being handled right now. */
  requests_in_flight: number;
  /** Bytes buffered right now for requests not yet authenticated (bounded by `maxUnauthenticatedBytes`). */
  unauthenticated_bytes: number;
  /** The most such bytes buffered at once since the trigger was created. */
  unauthenticated_bytes_peak: number;
}

/** What createWebhookTrigger returns: a Hono app to mount or serve, plus the JobTrigger lifecycle. */
export interface WebhookTrigger extends JobTrigger {
  /** Serve it (`app.fetch`) or mount it (`parent.route("/", app)`). */
  readonly app: Hono<WebhookEnv>;
  start(): Promise<void>;
  /**
   * Refuses new job requests (503 trigger_stopped) and waits for those already being handled,
   * at most `timeoutMs` (default 10 s); then requests still waiting for their body are answered
   * 503 at once, and the rest are no longer waited for.
   */
  stop(options?: { timeoutMs?: number }): Promise<void>;
  readonly isRunning: boolean;
  /** Counters of this trigger (also served at GET {prefix}/health). */
  health(): WebhookHealth;
}

/**
 * Creates the webhook trigger. Routes (under `prefix`, default "/webhooks"):
 * - `POST /jobs`: creates a job from the JSON body; 202 accepted, or 200 duplicate for a repeated
 *   idempotency key (body `idempotency_key`, else the `webhook-id` header, scoped by credential);
 * - `GET /jobs/:id`: the job in snake_case (bearer or read token only, never a signature);
 * - `GET /health`: {@link WebhookHealth} (no auth).
 * Requests are answered 503 until {@link WebhookTrigger.start} and after stop.
 * @throws {WebhookConfigError} for an invalid option, naming it
 */
export function createWebhookTrigger(options: WebhookTriggerOptions): WebhookTrigger {
  const o = resolveWebhookOptions(options);
  const logger = options.logger ?? jsonLogger;
  const clock = options.clock ?? systemClock;
  const counters = new HealthCounters();
  let running = false;
  const requests = new OpenRequests({ clock, bodyTimeoutMs: o.bodyTimeoutMs });
  const budget = new ByteBudget(o.maxUnauthenticatedBytes);
  const limiter = o.rateLimit ? new RateLimiter(o.rateLimit.perMinute) : null;

  const app = new Hono<WebhookEnv>();
  const auth = createAuthenticator(o, clock);

  // Logs and builds a refusal; the POST route counts it in the health errors.
  const fail = (code: WebhookErrorCode, message: string, issues?: ValidationIssue[], headers?: Record<string, string>) => {
    // A stopped trigger refusing requests during shutdown is expected; only real failures are errors.
    if (WEBHOOK_ERROR_STATUS[code] >= 500 && code !== "trigger_stopped" && code !== "server_busy") {
      logger.error("webhook_request_failed", { code, message });
    } else logger.debug("webhook_request_rejected", { code, message });
    return errorResponse(code, message, issues, headers);
  };

  const methodNotAllowed = (c: Context) => errorResponse("method_not_allowed", `${c.req.method} is not supported on ${c.req.path}`);

  // One handler runs the gates in order (stopped, size, auth, body) without a middleware chain:
  // cheaper on the hot path. It serves every method on /jobs and answers 405 itself: with a
  // separate 405 route, each POST matched two handlers and Hono composed them.
  app.all(`${o.prefix}/jobs`, async (c) => {
    if (c.req.method !== "POST") return methodNotAllowed(c);
    if (!running) {
      counters.failed();
      return fail("trigger_stopped", "the webhook trigger is stopped; retry later");
    }
    let res: Response;
    try {
      res = await requests.run((request) => handle(c, request));
    } catch (err) {
      // e.g. a payload schema that throws instead of returning issues
      logger.error("webhook_unhandled_error", { error: err });
      res = fail("internal_error", "internal error");
    }
    // Every request that ends without a job is an error, whichever step refused it.
    if (res.status >= 400) counters.failed();
    return res;
  });

  const limits = (request: OpenRequest): ReadLimits => ({ maxBytes: o.maxBodyBytes, request, bodyTimeoutMs: o.bodyTimeoutMs });

  /** Size and credentials from the headers, before any byte of the body is read. */
  function handle(c: Context<WebhookEnv>, request: OpenRequest): Promise<Response> {
    const size = sizeByHeader(c, o.maxBodyBytes);
    if (size) return Promise.resolve(size);
    const who = auth.forCreate(c);
    if (who instanceof Response) return Promise.resolve(who);
    if (who instanceof Promise) return who.then((w) => (w instanceof Response ? w : authenticated(c, request, w, size)));
    if ("pending" in who) return signed(c, request, who);
    return authenticated(c, request, who, size);
  }

  /** An authenticated request: its body is read within the size limit and the body deadline. */
  function authenticated(c: Context<WebhookEnv>, request: OpenRequest, who: Authenticated, size: null | undefined): Promise<Response> {
    const refused = contentType(c) ?? limitCredential(who);
    if (refused) return Promise.resolve(refused);
    // The common case (Content-Length given and within the limit) reads with the runtime's text().
    if (size === null) return readText(c, limits(request)).then((r) => (r.ok ? createFromText(c, who, r.body) : r.response));
    return readBytes(c, limits(request)).then((r) => (r.ok ? createFromText(c, who, decodeBody(r.body, false)) : r.response));
  }

  /** A signed request: its body is buffered within the shared unauthenticated budget, then verified. */
  async function signed(c: Context<WebhookEnv>, request: OpenRequest, pending: PendingSignature): Promise<Response> {
    const reservation = budget.reserve();
    let body: Uint8Array;
    let who: Authenticated | Response;
    try {
      const read = await readBytes(c, { ...limits(request), reservation });
      if (!read.ok) return read.response;
      body = read.body;
      who = await auth.verifyBody(c, pending, body);
    } finally {
      reservation.release();
    }
    if (who instanceof Response) return who;
    return contentType(c) ?? limitCredential(who) ?? createFromText(c, who, decodeBody(body, true));
  }

  function contentType(c: Context<WebhookEnv>): Response | null {
    return isJsonContentType(c.req.header("content-type"))
      ? null
      : fail("unsupported_media_type", "Content-Type must be application/json (charset utf-8 if given)");
  }

  function rateLimited(key: string, what: string): Response | null {
    const over = limiter!.hit(key, clock());
    if (!over) return null;
    const seconds = Math.max(1, Math.ceil(over.retryAfterMs / 1000));
    return fail("rate_limited", `more than ${o.rateLimit!.perMinute} requests per minute for ${what}; retry in ${seconds} s`, undefined, {
      "retry-after": String(seconds),
    });
  }

  function limitCredential(who: Authenticated): Response | null {
    return limiter && o.rateLimit!.by === "credential" ? rateLimited(who.credential, `this credential (${who.credential})`) : null;
  }

  async function createFromText(c: Context<WebhookEnv>, who: Authenticated, text: string | null): Promise<Response> {
    const json = parseJson(text);
    if (!json.ok) return fail("invalid_json", json.message);
    const body = parseJobRequest(json.value);
    if (!body.ok) return fail("invalid_body", `invalid request body: ${describe(body.issues)}`, body.issues);
    const { job_type: jobType } = body.value;
    if (o.allowedJobTypes && !o.allowedJobTypes.has(jobType)) {
      return fail("job_type_not_allowed", `job type "${jobType}" is not allowed on this endpoint`);
    }
    const webhookId = c.req.header("webhook-id") ?? null;
    if (webhookId !== null && body.value.idempotency_key == null && (webhookId.length === 0 || webhookId.length > MAX_CLIENT_KEY_LENGTH)) {
      const message = `the webhook-id header (the idempotency key) must be 1 to ${MAX_CLIENT_KEY_LENGTH} characters`;
      const issues = [{ path: "webhook-id", message }];
      return fail("invalid_body", `invalid request: ${describe(issues)}`, issues);
    }
    if (limiter && o.rateLimit!.by === "jobType") {
      const refused = rateLimited(jobType, `job type "${jobType}"`);
      if (refused) return refused;
    }
    let payload: unknown = body.value.payload;
    // Own keys only: a job type such as "constructor" must not find Object.prototype members.
    const schema = Object.hasOwn(o.schemas, jobType) ? o.schemas[jobType] : undefined;
    if (schema) {
      let result: Awaited<ReturnType<typeof schema["~standard"]["validate"]>>;
      try {
        result = await schema["~standard"].validate(payload);
      } catch (err) {
        // A recursive schema walking a hopelessly deep payload overflows the stack: bad input, not a server fault.
        if (!(err instanceof RangeError)) throw err;
        return fail("validation_failed", `the payload for "${jobType}" is nested too deeply to validate`, [
          { path: "payload", message: "is nested too deeply to validate" },
        ]);
      }
      if (result.issues) {
        const issues = result.issues.map((i) => ({ path: formatIssuePath("payload", i.path), message: i.message }));
        return fail("validation_failed", `invalid payload for "${jobType}": ${describe(issues)}`, issues);
      }
      payload = result.value;
    }
    const key = scopedIdempotencyKey(who.method, body.value.idempotency_key, webhookId);
    try {
      const job = await o.jobCreator.createJob(jobType, payload, toCreateOptions(body.value, key));
      if (isDuplicateJob(job)) {
        logger.debug("webhook_job_duplicate", { job_id: job.id, job_type: jobType });
        return c.json<WebhookJobResponse>(
          { status: "duplicate", job_id: job.id, message: `job ${job.id} already exists for this idempotency key` },
          200,
        );
      }
      counters.created(clock());
      logger.debug("webhook_job_created", { job_id: job.id, job_type: jobType, auth: who.method });
      return c.json<WebhookJobResponse>({ status: "accepted", job_id: job.id, message: `job ${job.id} queued` }, 202);
    } catch (err) {
      return creatorError(err);
    }
  }

  app.get(`${o.prefix}/jobs/:id`, async (c) => {
    const who = await auth.forRead(c);
    if (who instanceof Response) return who;
    if (!o.getJob) return errorResponse("job_lookup_unavailable", "job lookup is not configured on this trigger (getJob)");
    const id = c.req.param("id");
    const job = await o.getJob(id);
    if (!job) return errorResponse("job_not_found", `job ${id} does not exist`);
    return c.json(toWireJob(job), 200);
  });

  app.get(`${o.prefix}/health`, (c) => c.json(health(), 200));

  for (const path of [`${o.prefix}/jobs/:id`, `${o.prefix}/health`]) app.all(path, methodNotAllowed);
  app.notFound((c) => errorResponse("not_found", `no route for ${c.req.method} ${c.req.path}`));
  app.onError((err, c) => onError(err, c));

  function creatorError(err: unknown): Response {
    if (err instanceof PorticoError || (err instanceof Error && typeof (err as { code?: unknown }).code === "string")) {
      const code = (err as PorticoError).code;
      const issues = (err as { issues?: ValidationIssue[] }).issues;
      // The JobService's input limits: too large is 413, too deep (like any invalid input) 400.
      if (code === "validation_failed" && (err as { limit?: unknown }).limit === "size") return fail("payload_too_large", err.message, issues);
      if (code === "unknown_job_type" || code === "validation_failed") return fail(code, err.message, issues);
      if (code === "storage_error" || code === "storage_full") return fail(code, err.message);
    }
    logger.error("webhook_job_creation_failed", { error: err });
    return fail("internal_error", "the job could not be created");
  }

  function onError(err: Error, _c: Context): Response {
    if (err instanceof HTTPException) {
      const res = err.getResponse();
      if (res.headers.get("content-type")?.includes("application/json")) return res;
      return errorResponse(err.status === 413 ? "payload_too_large" : "internal_error", err.message || res.statusText);
    }
    logger.error("webhook_unhandled_error", { error: err });
    return errorResponse("internal_error", "internal error");
  }

  function health(): WebhookHealth {
    return {
      ...counters.snapshot(running),
      requests_in_flight: requests.size,
      unauthenticated_bytes: budget.used,
      unauthenticated_bytes_peak: budget.peak,
    };
  }

  return {
    app,
    async start() {
      if (running) return;
      running = true;
      if (!o.bearerToken && o.signingSecrets.length === 0) {
        logger.warn("webhook_auth_disabled", { prefix: o.prefix, hint: "set auth.bearerToken or auth.signingSecrets" });
      }
      logger.info("webhook_trigger_started", { prefix: o.prefix, allowed_job_types: o.allowedJobTypes ? [...o.allowedJobTypes] : null });
    },
    async stop(stopOptions) {
      if (!running) return;
      running = false;
      await requests.drain(stopOptions?.timeoutMs ?? 10_000);
      logger.info("webhook_trigger_stopped", { prefix: o.prefix, requests_left: requests.size });
    },
    get isRunning() {
      return running;
    },
    health,
  };
}

function describe(issues: ValidationIssue[]): string {
  const first = issues[0];
  if (!first) return "invalid";
  return `${first.path}: ${first.message}${issues.length > 1 ? ` (and ${issues.length - 1} more)` : ""}`;
}
