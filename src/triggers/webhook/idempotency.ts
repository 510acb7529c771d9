/**
 * The idempotency key a webhook request stores. Keys are scoped by the credential kind that sent
 * them and by where they came from, so one client can never claim another's key: a bearer client
 * that sends a `webhook-id` a signing sender will use later gets a key of its own, and the signed
 * message still creates its job.
 *
 * | request | stored `idempotencyKey` |
 * |---|---|
 * | signed, `webhook-id` header | `sig-id:<webhook-id>` |
 * | signed, body `idempotency_key` | `sig:<key>` |
 * | bearer token, `webhook-id` header | `bearer-id:<webhook-id>` |
 * | bearer token, body `idempotency_key` | `bearer:<key>` |
 * | no auth configured | `open-id:<webhook-id>` / `open:<key>` |
 *
 * The scope is everything before the first `:`, from a fixed set, so two scopes never overlap.
 */
import type { AuthMethod } from "./auth.ts";

/** Longest key a client may send (body `idempotency_key` or `webhook-id`): the scope fits within the store's 512. */
export const MAX_CLIENT_KEY_LENGTH = 500;

const SCOPE: Record<AuthMethod, string> = { signature: "sig", bearer: "bearer", none: "open" };

/** The stored key for a client's key, or null without one. */
export function scopedIdempotencyKey(method: AuthMethod, bodyKey: string | null | undefined, webhookId: string | null): string | null {
  if (bodyKey != null) return `${SCOPE[method]}:${bodyKey}`;
  if (webhookId !== null) return `${SCOPE[method]}-id:${webhookId}`;
  return null;
}
