/**
 * Authentication middleware: Hono's bearer-auth and/or Standard Webhooks signatures.
 * With both configured, a request passes with either one valid credential.
 */
import type { Context, MiddlewareHandler } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import type { Clock } from "../../core/index.ts";
import { errorResponse } from "./errors.ts";
import type { ResolvedWebhookOptions } from "./options.ts";
import { readRawBody, type WebhookEnv } from "./raw-body.ts";
import { createWebhookVerifier } from "./signature.ts";

/** Compares in time independent of the content (over the longer string); only the length shows. */
function constantTimeEqualStrings(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  const n = Math.max(a.length, b.length);
  // charCodeAt past the end is NaN, and NaN | 0 is 0: no branch on the content.
  for (let i = 0; i < n; i++) diff |= (a.charCodeAt(i) | 0) ^ (b.charCodeAt(i) | 0);
  return diff === 0;
}

/** How a request was authenticated; exposed as `c.get("auth")`. */
export type AuthMethod = "none" | "bearer" | "signature";

/** Hono bearer-auth's token syntax (RFC 6750 b64token), which it checks before comparing. */
const BEARER_TOKEN = /^[A-Za-z0-9._~+/-]+=*$/;

/**
 * With a bearer token as the only credential: a synchronous check that accepts exactly the
 * requests Hono's bearer-auth accepts (same header parsing and token syntax, same constant-time
 * compare) and sets `auth`. It returns false for anything else; the caller then runs the full
 * middleware, which words the refusal. This spares an accepted request four async layers.
 * Null when other credentials are configured.
 */
export function createBearerFastPath(o: ResolvedWebhookOptions): ((c: Context<WebhookEnv>) => boolean) | null {
  const expected = o.bearerToken;
  if (!expected || o.signingSecrets.length) return null;
  return (c) => {
    const header = c.req.header("authorization");
    // Hono: case-insensitive "Bearer", one space, then the token with leading spaces trimmed.
    if (!header || header.length < 8 || header[6] !== " " || header.slice(0, 6).toLowerCase() !== "bearer") return false;
    const token = header.slice(7).trimStart();
    if (!BEARER_TOKEN.test(token) || !constantTimeEqualStrings(token, expected)) return false;
    c.set("auth", "bearer");
    return true;
  };
}

/** Builds the auth middleware, or null when no credential is configured (every request passes). */
export function createAuthMiddleware(o: ResolvedWebhookOptions, clock: Clock): MiddlewareHandler<WebhookEnv> | null {
  const challenge = { "WWW-Authenticate": 'Bearer realm="portico-jobs"' };
  const bearer = o.bearerToken
    ? bearerAuth<WebhookEnv>({
        // Hono's default compare hashes both tokens with two async SHA-256 digests per request
        // (~130 µs on Node); a synchronous constant-time compare is as safe and far cheaper.
        verifyToken: (given) => constantTimeEqualStrings(given, o.bearerToken!),
        realm: "portico-jobs",
        noAuthenticationHeader: {
          message: () =>
            errorResponse("missing_credentials", o.signingSecrets.length
              ? "send Authorization: Bearer <token> or Standard Webhooks signature headers"
              : "send Authorization: Bearer <token>", undefined, challenge),
        },
        // Hono answers a malformed header with 400; to a client it is just a bad credential.
        invalidAuthenticationHeader: {
          message: () => errorResponse("invalid_token", "the Authorization header is not a Bearer token", undefined, challenge),
        },
        invalidToken: { message: () => errorResponse("invalid_token", "the bearer token is not valid", undefined, challenge) },
      })
    : null;
  const verifier = o.signingSecrets.length
    ? createWebhookVerifier({ secrets: o.signingSecrets, toleranceSeconds: o.toleranceSeconds, clock })
    : null;

  if (!bearer && !verifier) return null;

  return async (c, next) => {
    const signed = c.req.header("webhook-signature") !== undefined;
    if (verifier && (signed || !bearer)) {
      const result = await verifier.verify(c.req.raw.headers, await readRawBody(c));
      if (result.ok) {
        c.set("auth", "signature");
        return next();
      }
      // A bad signature still loses to a good bearer token sent alongside it.
      if (!bearer || c.req.header("authorization") === undefined) {
        return errorResponse(result.code, result.message);
      }
    }
    c.set("auth", "bearer");
    return bearer!(c, next);
  };
}
