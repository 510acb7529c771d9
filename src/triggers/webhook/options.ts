/** Options of createWebhookTrigger and their validation (at construction, naming the option). */
import type { Clock, Job, JobCreator, Logger, StandardSchemaV1 } from "../../core/index.ts";
import { WebhookConfigError } from "./errors.ts";
import { decodeSecret } from "./signature.ts";

/** How callers authenticate. With both set, either a valid bearer token or a valid signature is enough. */
export interface WebhookAuthOptions {
  /** Accepted `Authorization: Bearer <token>` value. */
  bearerToken?: string;
  /** Standard Webhooks secrets (`whsec_<base64>`); several during rotation. */
  signingSecrets?: string[];
  /** Largest accepted age (or lead) of webhook-timestamp, in seconds; default 300. */
  toleranceSeconds?: number;
  /**
   * A second bearer token accepted by `GET {prefix}/jobs/:id` only (reads never accept a
   * signature: it binds neither method nor path). `bearerToken` is accepted for reads too.
   */
  readToken?: string;
}

/** The ingress rate limit of {@link WebhookTriggerOptions.rateLimit}. */
export interface WebhookRateLimit {
  /** Most accepted job requests per key in any 60 s window. */
  perMinute: number;
  /**
   * What is counted: per job type (default, as the seed's FAQ) or per credential (the bearer
   * token, each signing secret, or everyone when no auth is configured).
   */
  by?: "jobType" | "credential";
}

/** Options of {@link createWebhookTrigger}. */
export interface WebhookTriggerOptions {
  /** Where jobs are created; any JobCreator (JobService, a remote client, a stub). */
  jobCreator: JobCreator;
  /** Path prefix of the routes; default "/webhooks". */
  prefix?: string;
  /** When given, only these job types are accepted (403 otherwise). */
  allowedJobTypes?: readonly string[];
  /** Standard Schema (e.g. valibot) per job type for the payload; its output is what gets enqueued. */
  schemas?: Record<string, StandardSchemaV1>;
  /** Largest accepted body in bytes, with or without Content-Length; default 1 MiB. */
  maxBodyBytes?: number;
  /**
   * Most bytes buffered at once, across all connections, for requests not yet authenticated
   * (signed requests, whose body the signature covers). Past it a signed request is answered
   * 503 `server_busy` with Retry-After before its body is read. Default 8 MiB, and never below
   * `maxBodyBytes`.
   */
  maxUnauthenticatedBytes?: number;
  /** Longest wait for a request's body once its headers are in: then 408 `request_timeout`; default 30 s. */
  bodyTimeoutMs?: number;
  /** Ingress rate limit: over it, 429 `rate_limited` with Retry-After and nothing enqueued. Per process or isolate. */
  rateLimit?: WebhookRateLimit;
  /** Authentication; without it every request is accepted (a warning is logged at start). */
  auth?: WebhookAuthOptions;
  /** Serves GET {prefix}/jobs/:id. Defaults to `jobCreator.getJob` when the creator has one. */
  getJob?: (id: string) => Promise<Job | null>;
  /** Structured logger; default: JSON lines at info level. */
  logger?: Logger;
  /** Current time in epoch ms (signature tolerance, health); for tests. */
  clock?: Clock;
}

/** Options after defaults and checks. */
export interface ResolvedWebhookOptions {
  jobCreator: JobCreator;
  prefix: string;
  allowedJobTypes: ReadonlySet<string> | null;
  schemas: Record<string, StandardSchemaV1>;
  maxBodyBytes: number;
  maxUnauthenticatedBytes: number;
  bodyTimeoutMs: number;
  rateLimit: Required<WebhookRateLimit> | null;
  bearerToken: string | null;
  readToken: string | null;
  signingSecrets: string[];
  toleranceSeconds: number;
  getJob: ((id: string) => Promise<Job | null>) | null;
}

// The token alphabet Hono's bearer-auth accepts (RFC 6750 b64token); other tokens could never match.
const TOKEN = /^[A-Za-z0-9._~+/-]+=*$/;

/** Applies defaults and validates every option. @throws {WebhookConfigError} */
export function resolveWebhookOptions(o: WebhookTriggerOptions): ResolvedWebhookOptions {
  if (!o || typeof o.jobCreator?.createJob !== "function") {
    throw new WebhookConfigError("jobCreator", "must be an object with a createJob method");
  }
  let prefix = o.prefix ?? "/webhooks";
  if (typeof prefix !== "string" || (prefix !== "" && !prefix.startsWith("/")) || /[?#\s]/.test(prefix)) {
    throw new WebhookConfigError("prefix", `must be a path starting with "/" (got ${JSON.stringify(prefix)})`);
  }
  prefix = prefix.replace(/\/+$/, "");

  let allowed: Set<string> | null = null;
  if (o.allowedJobTypes !== undefined) {
    if (!Array.isArray(o.allowedJobTypes) || o.allowedJobTypes.some((t) => typeof t !== "string" || t === "")) {
      throw new WebhookConfigError("allowedJobTypes", "must be an array of non-empty strings");
    }
    allowed = new Set(o.allowedJobTypes);
  }

  const schemas = o.schemas ?? {};
  for (const [type, schema] of Object.entries(schemas)) {
    if (typeof schema?.["~standard"]?.validate !== "function") {
      throw new WebhookConfigError(`schemas.${type}`, "must be a Standard Schema (e.g. a valibot schema)");
    }
  }

  const maxBodyBytes = o.maxBodyBytes ?? 1024 * 1024;
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes <= 0) {
    throw new WebhookConfigError("maxBodyBytes", `must be a positive integer (got ${maxBodyBytes})`);
  }

  const maxUnauthenticatedBytes = o.maxUnauthenticatedBytes ?? Math.max(8 * 1024 * 1024, maxBodyBytes);
  if (!Number.isSafeInteger(maxUnauthenticatedBytes) || maxUnauthenticatedBytes < maxBodyBytes) {
    throw new WebhookConfigError("maxUnauthenticatedBytes", `must be an integer >= maxBodyBytes (${maxBodyBytes}), got ${maxUnauthenticatedBytes}`);
  }
  const bodyTimeoutMs = o.bodyTimeoutMs ?? 30_000;
  if (!Number.isSafeInteger(bodyTimeoutMs) || bodyTimeoutMs <= 0) {
    throw new WebhookConfigError("bodyTimeoutMs", `must be a positive integer of milliseconds (got ${bodyTimeoutMs})`);
  }
  let rateLimit: Required<WebhookRateLimit> | null = null;
  if (o.rateLimit !== undefined) {
    const { perMinute, by = "jobType" } = o.rateLimit ?? ({} as WebhookRateLimit);
    if (!Number.isSafeInteger(perMinute) || perMinute < 1 || perMinute > 1_000_000) {
      throw new WebhookConfigError("rateLimit.perMinute", `must be an integer from 1 to 1,000,000 (got ${perMinute})`);
    }
    if (by !== "jobType" && by !== "credential") {
      throw new WebhookConfigError("rateLimit.by", `must be "jobType" or "credential" (got ${JSON.stringify(by)})`);
    }
    rateLimit = { perMinute, by };
  }

  const auth = o.auth ?? {};
  const token = (field: "bearerToken" | "readToken") => {
    const value = auth[field] ?? null;
    if (value !== null && (typeof value !== "string" || !TOKEN.test(value))) {
      throw new WebhookConfigError(`auth.${field}`, "must be a non-empty token of letters, digits and ._~+/-");
    }
    return value;
  };
  const bearerToken = token("bearerToken");
  const readToken = token("readToken");
  const signingSecrets = auth.signingSecrets ?? [];
  if (!Array.isArray(signingSecrets)) throw new WebhookConfigError("auth.signingSecrets", "must be an array");
  signingSecrets.forEach((s, i) => decodeSecret(s, `auth.signingSecrets[${i}]`));
  const toleranceSeconds = auth.toleranceSeconds ?? 300;
  if (typeof toleranceSeconds !== "number" || !(toleranceSeconds > 0) || !Number.isFinite(toleranceSeconds)) {
    throw new WebhookConfigError("auth.toleranceSeconds", `must be a positive number (got ${toleranceSeconds})`);
  }

  if (o.getJob !== undefined && typeof o.getJob !== "function") {
    throw new WebhookConfigError("getJob", "must be a function (id) => Promise<Job | null>");
  }
  // A JobService also reads jobs; using it spares every host from wiring getJob by hand.
  const reader = o.jobCreator as Partial<{ getJob(id: string): Promise<Job | null> }>;
  const getJob = o.getJob ?? (typeof reader.getJob === "function" ? (id: string) => reader.getJob!(id) : null);

  return {
    jobCreator: o.jobCreator,
    prefix,
    allowedJobTypes: allowed,
    schemas,
    maxBodyBytes,
    maxUnauthenticatedBytes,
    bodyTimeoutMs,
    rateLimit,
    bearerToken,
    readToken,
    signingSecrets: [...signingSecrets],
    toleranceSeconds,
    getJob,
  };
}
