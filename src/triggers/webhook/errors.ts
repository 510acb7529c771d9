/** The webhook trigger's error vocabulary: stable codes, their HTTP statuses and the JSON envelope. */
import { PorticoError, type ValidationIssue } from "../../core/index.ts";

/** Every `error.code` the webhook trigger answers with, mapped to its HTTP status. */
export const WEBHOOK_ERROR_STATUS = {
  invalid_json: 400,
  invalid_body: 400,
  validation_failed: 400,
  unknown_job_type: 400,
  missing_credentials: 401,
  invalid_token: 401,
  missing_signature: 401,
  invalid_signature: 401,
  invalid_timestamp: 401,
  timestamp_out_of_tolerance: 401,
  job_type_not_allowed: 403,
  not_found: 404,
  job_not_found: 404,
  job_lookup_unavailable: 404,
  method_not_allowed: 405,
  request_timeout: 408,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal_error: 500,
  trigger_stopped: 503,
  server_busy: 503,
  storage_error: 503,
  storage_full: 507,
} as const;

/** One of the stable error codes of {@link WEBHOOK_ERROR_STATUS}. */
export type WebhookErrorCode = keyof typeof WEBHOOK_ERROR_STATUS;

/** The JSON body of every error response. */
export interface WebhookErrorBody {
  error: { code: WebhookErrorCode; message: string; issues?: ValidationIssue[] };
}

/** Builds an error response; `headers` carries e.g. WWW-Authenticate. */
export function errorResponse(
  code: WebhookErrorCode,
  message: string,
  issues?: ValidationIssue[],
  headers?: Record<string, string>,
): Response {
  const body: WebhookErrorBody = { error: issues ? { code, message, issues } : { code, message } };
  return new Response(JSON.stringify(body), {
    status: WEBHOOK_ERROR_STATUS[code],
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });
}

/** A webhook trigger option is invalid; thrown by createWebhookTrigger, naming the option. */
export class WebhookConfigError extends PorticoError {
  /** The offending option, e.g. `auth.signingSecrets[1]`. */
  readonly field: string;
  constructor(field: string, message: string) {
    super("invalid_config", `Invalid webhook trigger option ${field}: ${message}`);
    this.field = field;
  }
}
