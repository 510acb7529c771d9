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
import { createAuthMiddleware, createBearerFastPath } from "./auth.ts";
import { createBodyLimit } from "./body-limit.ts";
import { gate } from "./gate.ts";
import { isJsonContentType, parseJobRequest, parseJson, toCreateOptions } from "./body.ts";
import { errorResponse, WEBHOOK_ERROR_STATUS, type WebhookErrorCode } from "./errors.ts";
import { resolveWebhookOptions, type WebhookTriggerOptions } from "./options.ts";
import { readBodyText, type WebhookEnv } from "./raw-body.ts";
import { toWireJob } from "./wire.ts";

/** Body of a 202 (new job) or 200 (repeated idempotency key / webhook-id) answer. */
export interface WebhookJobResponse {
  status: "accepted" | "duplicate";
  job_id: string;
  message: string;
}

/** What createWebhookTrigger returns: a Hono app to mount or serve, plus the JobTrigger lifecycle. */
export interface WebhookTrigger extends JobTrigger {
  /** Serve it (`app.fetch`) or mount it (`parent.route("/", app)`). */
  readonly app: Hono<WebhookEnv>;
  start(): Promise<void>;
  /** Refuses new job requests (503 trigger_stopped) and waits for those already being handled. */
  stop(): Promise<void>;
  readonly isRunning: boolean;
  /** Counters of this trigger (also served at GET {prefix}/health). */
  health(): TriggerHealth;
}

/**
 * Creates the webhook trigger. Routes (under `prefix`, default "/webhooks"):
 * - `POST /jobs`: creates a job from the JSON body; 202 accepted, or 200 duplicate for a repeated
 *   idempotency key (body `idempotency_key`, else the `webhook-id` header);
 * - `GET /jobs/:id`: the job in snake_case (same auth);
 * - `GET /health`: {@link TriggerHealth} (no auth).
 * Requests are answered 503 until {@link WebhookTrigger.start} and after stop.
 * @throws {WebhookConfigError} for an invalid option, naming it
 */
export function createWebhookTrigger(options: WebhookTriggerOptions): WebhookTrigger {
  const o = resolveWebhookOptions(options);
  const logger = options.logger ?? jsonLogger;
  const clock = options.clock ?? systemClock;
  const counters = new HealthCounters();
  let running = false;
  // Requests past the running check; stop() waits for them so the store is not closed under them.
  const inFlight = new Set<Promise<Response>>();

  const app = new Hono<WebhookEnv>();
  const auth = createAuthMiddleware(o, clock);
  const bearerPasses = createBearerFastPath(o);
  const limit = createBodyLimit(o.maxBodyBytes);

  // Logs and builds a refusal; the POST route counts it in the health errors.
  const fail = (code: WebhookErrorCode, message: string, issues?: ValidationIssue[]) => {
    // A stopped trigger refusing requests during shutdown is expected; only real failures are errors.
    if (WEBHOOK_ERROR_STATUS[code] >= 500 && code !== "trigger_stopped") logger.error("webhook_request_failed", { code, message });
    else logger.debug("webhook_request_rejected", { code, message });
    return errorResponse(code, message, issues);
  };

  const methodNotAllowed = (c: Context) => errorResponse("method_not_allowed", `${c.req.method} is not supported on ${c.req.path}`);

  // One handler runs the gates in order (stopped, size, auth) and then the body: cheaper than a
  // middleware chain on the hot path, with the same Hono middleware doing the checks. It serves
  // every method on /jobs and answers 405 itself: with a separate 405 route, each POST matched two
  // handlers and Hono composed them, an extra async layer per request.
  app.all(`${o.prefix}/jobs`, async (c) => {
    if (c.req.method !== "POST") return methodNotAllowed(c);
    if (!running) {
      counters.failed();
      return fail("trigger_stopped", "the webhook trigger is stopped; retry later");
    }
    const pending = handle(c);
    inFlight.add(pending);
    let res: Response;
    try {
      res = await pending;
    } catch (err) {
      // e.g. a payload schema that throws instead of returning issues
      logger.error("webhook_unhandled_error", { error: err });
      res = fail("internal_error", "internal error");
    } finally {
      inFlight.delete(pending);
    }
    // Every request that ends without a job is an error, whichever step refused it.
    if (res.status >= 400) counters.failed();
    return res;
  });

  function handle(c: Context<WebhookEnv>): Promise<Response> {
    try {
      const size = limit.byHeader(c);
      // The common case (Content-Length given and within the limit, no auth or a valid bearer
      // token) goes straight to the body, without async wrappers whose promises cost extra
      // microtask turns; everything else goes through the gates.
      if (size === null && (!auth || bearerPasses?.(c))) return createFromBody(c);
      return gated(c, size);
    } catch (err) {
      // Failed like the async steps do, so the caller logs and counts it the same way.
      return Promise.reject(err);
    }
  }

  async function gated(c: Context<WebhookEnv>, size: Response | null | undefined): Promise<Response> {
    const refused =
      (size === undefined ? await gate(limit.streaming, c) : size) ?? (auth ? await gate(auth, c) : null);
    return refused ?? (await createFromBody(c));
  }

  async function createFromBody(c: Context<WebhookEnv>): Promise<Response> {
    if (!isJsonContentType(c.req.header("content-type"))) {
      return fail("unsupported_media_type", "Content-Type must be application/json (charset utf-8 if given)");
    }
    const json = parseJson(await readBodyText(c));
    if (!json.ok) return fail("invalid_json", json.message);
    const body = parseJobRequest(json.value);
    if (!body.ok) return fail("invalid_body", `invalid request body: ${describe(body.issues)}`, body.issues);
    const { job_type: jobType } = body.value;
    if (o.allowedJobTypes && !o.allowedJobTypes.has(jobType)) {
      return fail("job_type_not_allowed", `job type "${jobType}" is not allowed on this endpoint`);
    }
    let payload: unknown = body.value.payload;
    // Own keys only: a job type such as "constructor" must not find Object.prototype members.
    const schema = Object.hasOwn(o.schemas, jobType) ? o.schemas[jobType] : undefined;
    if (schema) {
      const result = await schema["~standard"].validate(payload);
      if (result.issues) {
        const issues = result.issues.map((i) => ({ path: formatIssuePath("payload", i.path), message: i.message }));
        return fail("validation_failed", `invalid payload for "${jobType}": ${describe(issues)}`, issues);
      }
      payload = result.value;
    }
    const webhookId = c.req.header("webhook-id") ?? null;
    if (webhookId !== null && body.value.idempotency_key == null && (webhookId.length === 0 || webhookId.length > 512)) {
      const issues = [{ path: "webhook-id", message: "the webhook-id header (the idempotency key) must be 1 to 512 characters" }];
      return fail("invalid_body", `invalid request: ${describe(issues)}`, issues);
    }
    try {
      const job = await o.jobCreator.createJob(jobType, payload, toCreateOptions(body.value, webhookId));
      if (isDuplicateJob(job)) {
        logger.debug("webhook_job_duplicate", { job_id: job.id, job_type: jobType });
        return c.json<WebhookJobResponse>(
          { status: "duplicate", job_id: job.id, message: `job ${job.id} already exists for this idempotency key` },
          200,
        );
      }
      counters.created(clock());
      logger.debug("webhook_job_created", { job_id: job.id, job_type: jobType, auth: c.get("auth") ?? "none" });
      return c.json<WebhookJobResponse>({ status: "accepted", job_id: job.id, message: `job ${job.id} queued` }, 202);
    } catch (err) {
      return creatorError(err);
    }
  }

  app.get(`${o.prefix}/jobs/:id`, async (c) => {
    const refused = auth ? await gate(auth, c) : null;
    if (refused) return refused;
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
      if (code === "unknown_job_type" || code === "validation_failed") return fail(code, err.message, issues);
      if (code === "storage_error") return fail("storage_error", err.message);
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

  function health(): TriggerHealth {
    return counters.snapshot(running);
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
    /** Refuses new requests (503) and waits for the requests already being handled. */
    async stop() {
      if (!running) return;
      running = false;
      await Promise.allSettled([...inFlight]);
      logger.info("webhook_trigger_stopped", { prefix: o.prefix });
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
