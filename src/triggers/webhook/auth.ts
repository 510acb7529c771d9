/**
 * Authentication: bearer tokens (Hono's bearer-auth rules) and Standard Webhooks signatures.
 * Requests are judged on their headers first, so nothing is read from an unauthenticated client
 * except the body of a signed request, which the signature covers.
 */
import type { Context, MiddlewareHandler } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import type { Clock } from "../../core/index.ts";
import { constantTimeEqualStrings } from "./constant-time.ts";
import { errorResponse } from "./errors.ts";
import { gate } from "./gate.ts";
import type { ResolvedWebhookOptions } from "./options.ts";
import type { WebhookEnv } from "./raw-body.ts";
import { createWebhookVerifier, type SignedHeaders } from "./signature.ts";

/** How a request was authenticated; exposed as `c.get("auth")`. */
export type AuthMethod = "none" | "bearer" | "signature";

/** A request that passed authentication. */
export interface Authenticated {
  method: AuthMethod;
  /**
   * Which credential: `"open"` (no auth configured), `"bearer"`, `"read"` (the read token) or
   * `"secret:<index>"` (the signing secret that matched). Rate limits count per credential.
   */
  credential: string;
}

/** A signed request whose headers passed: its body decides. */
export interface PendingSignature {
  pending: Extract<SignedHeaders, { ok: true }>;
}

/** Hono bearer-auth's token syntax (RFC 6750 b64token), which it checks before comparing. */
const BEARER_TOKEN = /^[A-Za-z0-9._~+/-]+=*$/;

/**
 * A synchronous check that accepts exactly the `Authorization` headers Hono's bearer-auth
 * accepts for one of `tokens` (same header parsing and token syntax, constant-time compare);
 * returns the index of the matching token or -1. Refusals are then worded by the middleware.
 */
function bearerMatcher(tokens: readonly string[]): (c: Context) => number {
  return (c) => {
    const header = c.req.header("authorization");
    // Hono: case-insensitive "Bearer", one space, then the token with leading spaces trimmed.
    if (!header || header.length < 8 || header[6] !== " " || header.slice(0, 6).toLowerCase() !== "bearer") return -1;
    const token = header.slice(7).trimStart();
    if (!BEARER_TOKEN.test(token)) return -1;
    let found = -1;
    // Every token is compared, so the time does not tell which one matched.
    for (let i = 0; i < tokens.length; i++) if (constantTimeEqualStrings(token, tokens[i]!) && found < 0) found = i;
    return found;
  };
}

/**
 * The bearer fast path of job creation: true (and `auth` set) for exactly the requests Hono's
 * bearer-auth accepts with `auth.bearerToken`. Null without a bearer token.
 */
export function createBearerFastPath(o: ResolvedWebhookOptions): ((c: Context<WebhookEnv>) => boolean) | null {
  if (!o.bearerToken) return null;
  const match = bearerMatcher([o.bearerToken]);
  return (c) => {
    if (match(c) < 0) return false;
    c.set("auth", "bearer");
    return true;
  };
}

const CHALLENGE = { "WWW-Authenticate": 'Bearer realm="portico-jobs"' };

/** Hono's bearer-auth for `tokens`, answering with the trigger's JSON errors. */
function bearerMiddleware(tokens: readonly string[], missing: string): MiddlewareHandler<WebhookEnv> {
  return bearerAuth<WebhookEnv>({
    // Hono's default compare hashes both tokens with two async SHA-256 digests per request
    // (~130 µs on Node); a synchronous constant-time compare is as safe and far cheaper.
    verifyToken: (given) => tokens.some((t) => constantTimeEqualStrings(given, t)),
    realm: "portico-jobs",
    noAuthenticationHeader: { message: () => errorResponse("missing_credentials", missing, undefined, CHALLENGE) },
    // Hono answers a malformed header with 400; to a client it is just a bad credential.
    invalidAuthenticationHeader: {
      message: () => errorResponse("invalid_token", "the Authorization header is not a Bearer token", undefined, CHALLENGE),
    },
    invalidToken: { message: () => errorResponse("invalid_token", "the bearer token is not valid", undefined, CHALLENGE) },
  });
}

/** The trigger's authentication, per route. */
export interface Authenticator {
  /**
   * Job creation, from the headers alone: authenticated, refused, or a signed request whose
   * headers passed and whose body must now be read (within the unauthenticated budget).
   */
  forCreate(c: Context<WebhookEnv>): Authenticated | PendingSignature | Response | Promise<Authenticated | Response>;
  /** Checks the signatures of a {@link PendingSignature} over the body bytes. */
  verifyBody(c: Context<WebhookEnv>, pending: PendingSignature, body: Uint8Array): Promise<Authenticated | Response>;
  /** Reads: the bearer token or the read token only; a signature never authorizes a read. */
  forRead(c: Context<WebhookEnv>): Authenticated | Response | Promise<Authenticated | Response>;
}

const OPEN: Authenticated = { method: "none", credential: "open" };
const BEARER: Authenticated = { method: "bearer", credential: "bearer" };
const SIGNATURES: Authenticated[] = [];
const signatureCredential = (i: number): Authenticated => (SIGNATURES[i] ??= { method: "signature", credential: `secret:${i}` });

/** Builds the authenticator for resolved options. */
export function createAuthenticator(o: ResolvedWebhookOptions, clock: Clock): Authenticator {
  const verifier = o.signingSecrets.length
    ? createWebhookVerifier({ secrets: o.signingSecrets, toleranceSeconds: o.toleranceSeconds, clock })
    : null;
  const open = !o.bearerToken && !verifier && !o.readToken;
  const createTokens = o.bearerToken ? [o.bearerToken] : [];
  const matchCreate = bearerMatcher(createTokens);
  const createRefusal = o.bearerToken
    ? bearerMiddleware(
        createTokens,
        verifier ? "send Authorization: Bearer <token> or Standard Webhooks signature headers" : "send Authorization: Bearer <token>",
      )
    : null;
  const readTokens = [o.bearerToken, o.readToken].filter((t): t is string => t !== null);
  const matchRead = bearerMatcher(readTokens);
  const readRefusal = readTokens.length
    ? bearerMiddleware(readTokens, "reads take Authorization: Bearer <token>; signatures are not accepted for reads")
    : null;

  /** Runs Hono's middleware on a request our matcher refused: it words the refusal (or, should the two ever drift, accepts). */
  const refuse = async (mw: MiddlewareHandler<WebhookEnv>, c: Context<WebhookEnv>, credential: Authenticated) => {
    const refused = await gate(mw, c);
    if (refused) return refused;
    c.set("auth", credential.method);
    return credential;
  };

  return {
    forCreate(c) {
      if (!o.bearerToken && !verifier) return OPEN;
      if (matchCreate(c) >= 0) {
        c.set("auth", "bearer");
        return BEARER;
      }
      if (verifier && (c.req.header("webhook-signature") !== undefined || !o.bearerToken)) {
        const signed = verifier.checkHeaders(c.req.raw.headers);
        if (signed.ok) return { pending: signed };
        // A bad signature still loses to a bearer token sent alongside it, which words the refusal.
        if (!createRefusal || c.req.header("authorization") === undefined) return errorResponse(signed.code, signed.message);
      }
      return refuse(createRefusal!, c, BEARER);
    },
    async verifyBody(c, _pending, body) {
      const result = await verifier!.verify(c.req.raw.headers, body);
      if (result.ok) {
        c.set("auth", "signature");
        return signatureCredential(result.secretIndex);
      }
      if (!createRefusal || c.req.header("authorization") === undefined) return errorResponse(result.code, result.message);
      return refuse(createRefusal, c, BEARER);
    },
    forRead(c) {
      if (open) return OPEN;
      const i = matchRead(c);
      if (i >= 0) {
        c.set("auth", "bearer");
        return readTokens[i] === o.bearerToken ? BEARER : { method: "bearer", credential: "read" };
      }
      if (!readRefusal) {
        return errorResponse(
          "missing_credentials",
          "reads need a bearer token (auth.bearerToken or auth.readToken); signatures are not accepted for reads",
          undefined,
          CHALLENGE,
        );
      }
      return refuse(readRefusal, c, { method: "bearer", credential: "read" });
    },
  };
}
