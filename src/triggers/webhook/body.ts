/** The wire body of POST {prefix}/jobs (the seed's snake_case format) and its parsing. */
import * as v from "valibot";
import type { CreateJobOptions, ValidationIssue } from "../../core/index.ts";
import { MAX_CLIENT_KEY_LENGTH } from "./idempotency.ts";

// An explicit offset keeps the instant independent of the server's time zone.
const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i;

const key = (field: string, max: number) =>
  v.pipe(
    v.string(`${field} must be a string`),
    v.minLength(1, `${field} must not be empty`),
    v.maxLength(max, `${field} must be at most ${max} characters`),
  );
const int = (field: string, min?: number) =>
  v.pipe(
    v.number(`${field} must be a number`),
    v.safeInteger(`${field} must be an integer`),
    v.minValue(min ?? Number.MIN_SAFE_INTEGER, `${field} must be >= ${min}`),
  );

function isJsonObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

/** The validated body (null fields count as absent). */
export interface JobRequest {
  job_type: string;
  payload: Record<string, unknown>;
  queue_name?: string | null | undefined;
  priority?: number | null | undefined;
  scheduled_at?: string | null | undefined;
  delay_ms?: number | null | undefined;
  max_retries?: number | null | undefined;
  timeout_ms?: number | null | undefined;
  metadata?: Record<string, unknown> | null | undefined;
  idempotency_key?: string | null | undefined;
  concurrency_key?: string | null | undefined;
  concurrency_limit?: number | null | undefined;
  rate_limit?: { key: string; limit: number; period_ms: number } | null | undefined;
  debounce?: { key: string; delay_ms: number; max_delay_ms?: number | undefined } | null | undefined;
}

const strict = (field: string) => (issue: v.BaseIssue<unknown>) =>
  issue.expected === "never"
    ? `unknown field of ${field}`
    : issue.received === "undefined"
      ? `${v.getDotPath(issue)} is required`
      : `${field} must be an object`;

/**
 * valibot schema of the request body. Unknown fields are rejected so that typos do not pass
 * silently. Typed by its output, so the public type stays readable (and JSR needs no inference).
 */
export const JobRequestSchema: v.GenericSchema<unknown, JobRequest> = v.strictObject(
  {
    job_type: v.pipe(
      v.string("job_type must be a string"),
      v.minLength(1, "job_type must not be empty"),
      v.maxLength(200, "job_type must be at most 200 characters"),
    ),
    // The seed's payload is a dict: a JSON object, {} when absent (a string, number, array or null is refused).
    payload: v.optional(v.custom<Record<string, unknown>>(isJsonObject, "payload must be a JSON object"), () => ({})),
    queue_name: v.nullish(key("queue_name", 512)),
    priority: v.nullish(int("priority")),
    scheduled_at: v.nullish(
      v.pipe(
        v.string("scheduled_at must be an ISO 8601 string"),
        v.check(
          (s) => ISO_WITH_ZONE.test(s) && !Number.isNaN(Date.parse(s)),
          "scheduled_at must be an ISO 8601 date-time with Z or an offset, e.g. 2026-01-31T09:00:00Z",
        ),
      ),
    ),
    delay_ms: v.nullish(int("delay_ms", 0)),
    max_retries: v.nullish(int("max_retries", 0)),
    timeout_ms: v.nullish(int("timeout_ms", 1)),
    // A check, not v.record: record() leaves out keys such as "constructor" (its guard against
    // prototype pollution), and createJob copies metadata safely anyway, keeping every key.
    metadata: v.nullish(v.custom<Record<string, unknown>>(isJsonObject, "metadata must be a JSON object")),
    idempotency_key: v.nullish(key("idempotency_key", MAX_CLIENT_KEY_LENGTH)),
    // Flow control (docs/flow-control.md): the store enforces these across every worker.
    concurrency_key: v.nullish(key("concurrency_key", 512)),
    concurrency_limit: v.nullish(int("concurrency_limit", 1)),
    rate_limit: v.nullish(
      v.strictObject(
        { key: key("rate_limit.key", 512), limit: int("rate_limit.limit", 1), period_ms: int("rate_limit.period_ms", 1) },
        strict("rate_limit"),
      ),
    ),
    debounce: v.nullish(
      v.strictObject(
        { key: key("debounce.key", 512), delay_ms: int("debounce.delay_ms", 0), max_delay_ms: v.optional(int("debounce.max_delay_ms", 0)) },
        strict("debounce"),
      ),
    ),
  },
  (issue) =>
    issue.expected === "never"
      ? `unknown field (allowed: job_type, payload, queue_name, priority, scheduled_at, delay_ms, max_retries, timeout_ms, metadata, idempotency_key, concurrency_key, concurrency_limit, rate_limit, debounce)`
      : issue.received === "undefined"
        ? `${v.getDotPath(issue)} is required`
        : "the body must be a JSON object",
);

/** Outcome of {@link parseJobRequest}. */
export type ParseResult = { ok: true; value: JobRequest } | { ok: false; issues: ValidationIssue[] };

/** Validates a parsed JSON value against {@link JobRequestSchema}; issue paths name the fields. */
export function parseJobRequest(value: unknown): ParseResult {
  // valibot's object schemas accept arrays; the wire format is an object.
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, issues: [{ path: "(body)", message: "the body must be a JSON object" }] };
  }
  const quick = quickParse(value as Record<string, unknown>);
  if (quick) return { ok: true, value: quick };
  const result = v.safeParse(JobRequestSchema, value, { abortPipeEarly: true });
  if (result.success) return { ok: true, value: result.output };
  return {
    ok: false,
    issues: result.issues.map((issue) => ({ path: v.getDotPath(issue) ?? "(body)", message: issue.message })),
  };
}

const nullishKey = (x: unknown, max: number) => x == null || (typeof x === "string" && x.length > 0 && x.length <= max);
const nullishInt = (x: unknown, min: number) => x == null || (typeof x === "number" && Number.isSafeInteger(x) && x >= min);

/**
 * The usual valid body, checked by hand in one pass with the rules of {@link JobRequestSchema}
 * (running the schema cost more than parsing the JSON). The output holds the same fields and
 * values as valibot's, in body order. Anything unusual (any issue, metadata, a field inherited
 * from a polluted prototype) returns undefined, and valibot decides and words the issues.
 */
function quickParse(input: Record<string, unknown>): JobRequest | undefined {
  const out: Record<string, unknown> = {};
  let jobType: unknown;
  for (const key in input) {
    const x = input[key];
    switch (key) {
      case "job_type":
        jobType = x;
        break;
      case "payload":
        if (!isJsonObject(x)) return undefined;
        break;
      case "queue_name":
        if (!nullishKey(x, 512)) return undefined;
        break;
      case "idempotency_key":
        if (!nullishKey(x, MAX_CLIENT_KEY_LENGTH)) return undefined;
        break;
      case "priority":
        if (!nullishInt(x, Number.MIN_SAFE_INTEGER)) return undefined;
        break;
      case "delay_ms":
      case "max_retries":
        if (!nullishInt(x, 0)) return undefined;
        break;
      case "timeout_ms":
        if (!nullishInt(x, 1)) return undefined;
        break;
      case "scheduled_at":
        if (x != null && !(typeof x === "string" && ISO_WITH_ZONE.test(x) && !Number.isNaN(Date.parse(x)))) return undefined;
        break;
      case "metadata":
        if (x != null) return undefined;
        break;
      default:
        return undefined;
    }
    out[key] = x;
  }
  if (typeof jobType !== "string" || jobType.length === 0 || jobType.length > 200) return undefined;
  out.payload ??= {};
  return out as Partial<JobRequest> as JobRequest;
}

/** Maps the body to createJob options; null fields count as absent. `idempotencyKey` is the stored (scoped) key. */
export function toCreateOptions(body: JobRequest, idempotencyKey: string | null): CreateJobOptions {
  const options: CreateJobOptions = { createdBy: "webhook" };
  if (body.queue_name != null) options.queueName = body.queue_name;
  if (body.priority != null) options.priority = body.priority;
  if (body.scheduled_at != null) options.scheduledAt = new Date(body.scheduled_at);
  if (body.delay_ms != null) options.delayMs = body.delay_ms;
  if (body.max_retries != null) options.maxRetries = body.max_retries;
  if (body.timeout_ms != null) options.timeoutMs = body.timeout_ms;
  if (body.metadata != null) options.metadata = body.metadata;
  if (idempotencyKey !== null) options.idempotencyKey = idempotencyKey;
  if (body.concurrency_key != null) options.concurrencyKey = body.concurrency_key;
  if (body.concurrency_limit != null) options.concurrencyLimit = body.concurrency_limit;
  if (body.rate_limit != null) options.rateLimit = { key: body.rate_limit.key, limit: body.rate_limit.limit, periodMs: body.rate_limit.period_ms };
  if (body.debounce != null) {
    const d = body.debounce;
    options.debounce = d.max_delay_ms === undefined ? { key: d.key, delayMs: d.delay_ms } : { key: d.key, delayMs: d.delay_ms, maxDelayMs: d.max_delay_ms };
  }
  return options;
}

/** True for `application/json`, optionally with `charset=utf-8` (any case, any spacing). */
export function isJsonContentType(header: string | undefined): boolean {
  if (header === "application/json") return true; // what nearly every sender sends: no splitting
  if (!header) return false;
  const [type, ...params] = header.split(";");
  if (type!.trim().toLowerCase() !== "application/json") return false;
  for (const p of params) {
    const [name, value] = p.split("=").map((s) => s.trim().toLowerCase());
    if (name === "charset" && value?.replace(/"/g, "") !== "utf-8") return false;
  }
  return true;
}

/** Parses the body text as JSON (null text: the bytes were not UTF-8); a message on failure. */
export function parseJson(text: string | null): { ok: true; value: unknown } | { ok: false; message: string } {
  if (text === null) return { ok: false, message: "the body is not valid UTF-8" };
  if (text.trim().length === 0) return { ok: false, message: "the body is empty; expected a JSON object" };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, message: `the body is not valid JSON: ${(err as Error).message}` };
  }
}
