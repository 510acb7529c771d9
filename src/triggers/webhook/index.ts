/**
 * portico-jobs/webhook: create jobs over HTTP (Hono + valibot), with bearer tokens and/or
 * Standard Webhooks signatures. Runs unchanged on Workers, Deno, Bun and Node.
 * @module
 */
export { createWebhookTrigger, type WebhookTrigger, type WebhookJobResponse, type WebhookHealth } from "./trigger.ts";
export type { WebhookTriggerOptions, WebhookAuthOptions, WebhookRateLimit } from "./options.ts";
export { WebhookConfigError, WEBHOOK_ERROR_STATUS, type WebhookErrorCode, type WebhookErrorBody } from "./errors.ts";
export {
  signWebhook,
  createWebhookVerifier,
  generateWebhookSecret,
  type SignWebhookInput,
  type WebhookSignatureHeaders,
  type WebhookVerifier,
  type WebhookVerifierOptions,
  type VerifyResult,
  type SignedHeaders,
  MAX_SIGNATURES,
} from "./signature.ts";
export { JobRequestSchema, type JobRequest } from "./body.ts";
export { toWireJob, type WireJob } from "./wire.ts";
export type { TriggerHealth } from "../health.ts";
