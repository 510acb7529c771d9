/**
 * Standard Webhooks signatures with Web Crypto (HMAC-SHA256), usable by senders (signWebhook)
 * and receivers (createWebhookVerifier) on any runtime.
 */
import { fromBase64, toBase64 } from "./base64.ts";
import { constantTimeEqualStrings } from "./constant-time.ts";
import { WebhookConfigError, type WebhookErrorCode } from "./errors.ts";

const encoder = new TextEncoder();
const SECRET_PREFIX = "whsec_";
/**
 * At most this many `v1` signatures of one header are compared (later ones are ignored), so a
 * huge header costs bounded work: senders list one per active secret, rarely more than two.
 */
export const MAX_SIGNATURES = 16;

/** The three Standard Webhooks headers. */
// A type alias (not an interface) so that it spreads into Record<string, string> and HeadersInit.
export type WebhookSignatureHeaders = {
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature": string;
};

/** Input of {@link signWebhook}. */
export interface SignWebhookInput {
  /** `whsec_<base64>` (the prefix is optional). */
  secret: string;
  /** Unique message id; the receiver uses it as the idempotency key. */
  id: string;
  /** Unix seconds or a Date; now when omitted. */
  timestamp?: number | Date;
  /** The exact bytes sent as the request body. */
  body: string | Uint8Array;
}

/**
 * Signs a request body and returns the headers to send with it.
 * @example
 * const body = JSON.stringify({ job_type: "email.send", payload: { to: "a@b.c" } });
 * const headers = await signWebhook({ secret: "whsec_...", id: crypto.randomUUID(), body });
 * await fetch(url, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body });
 */
export async function signWebhook(input: SignWebhookInput): Promise<WebhookSignatureHeaders> {
  const key = await importSecret(decodeSecret(input.secret, "secret"));
  const ts =
    input.timestamp === undefined
      ? Math.floor(Date.now() / 1000)
      : input.timestamp instanceof Date
        ? Math.floor(input.timestamp.getTime() / 1000)
        : Math.floor(input.timestamp);
  const body = typeof input.body === "string" ? encoder.encode(input.body) : input.body;
  const mac = await hmac(key, input.id, String(ts), body);
  return { "webhook-id": input.id, "webhook-timestamp": String(ts), "webhook-signature": `v1,${toBase64(mac)}` };
}

/** Generates a fresh random secret in the `whsec_<base64>` format (24 random bytes). */
export function generateWebhookSecret(): string {
  return SECRET_PREFIX + toBase64(crypto.getRandomValues(new Uint8Array(24)));
}

/**
 * Decodes a `whsec_<base64>` secret to its key bytes.
 * @throws {WebhookConfigError} naming `field` when the secret is empty or not base64
 */
export function decodeSecret(secret: string, field: string): Uint8Array {
  if (typeof secret !== "string" || secret.length === 0) {
    throw new WebhookConfigError(field, "must be a non-empty string like whsec_<base64>");
  }
  const raw = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  const bytes = fromBase64(raw);
  if (!bytes || bytes.length === 0) {
    throw new WebhookConfigError(field, "is not a base64 secret (expected whsec_<base64>)");
  }
  return bytes;
}

/** Outcome of {@link WebhookVerifier.verify}; `secretIndex` is the position of the secret that matched. */
export type VerifyResult = { ok: true; secretIndex: number } | { ok: false; code: WebhookErrorCode; message: string };

/** The signature headers of a request, checked without its body. */
export type SignedHeaders =
  | { ok: true; id: string; timestamp: string; signatures: string[] }
  | { ok: false; code: WebhookErrorCode; message: string };

/** Checks Standard Webhooks signatures against one or more secrets. */
export interface WebhookVerifier {
  /** Checks the headers, then the signatures over `body` (the raw bytes as received). */
  verify(headers: Headers, body: Uint8Array): Promise<VerifyResult>;
  /**
   * The checks that need no body: the three headers present, the timestamp an integer within
   * the tolerance, at least one `v1` signature. A receiver runs it before buffering the body.
   */
  checkHeaders(headers: Headers): SignedHeaders;
}

/** Options of {@link createWebhookVerifier}. */
export interface WebhookVerifierOptions {
  /** Accepted secrets; several while rotating. */
  secrets: readonly string[];
  /** Largest accepted distance between webhook-timestamp and now, in seconds (default 300). */
  toleranceSeconds?: number;
  /** Current time in epoch ms (tests). */
  clock?: () => number;
}

/**
 * Builds a verifier for several secrets (key rotation: any secret may have signed the message).
 * As in the reference library, a signature matches when its base64 text equals the expected
 * text (so unpadded or otherwise non-canonical encodings are refused), compared in constant
 * time; at most {@link MAX_SIGNATURES} `v1` entries of a header are compared.
 * @throws {WebhookConfigError} when a secret cannot be decoded
 */
export function createWebhookVerifier(options: WebhookVerifierOptions): WebhookVerifier {
  const tolerance = options.toleranceSeconds ?? 300;
  const clock = options.clock ?? Date.now;
  const rawKeys = options.secrets.map((s, i) => decodeSecret(s, `signingSecrets[${i}]`));
  // importKey is async; do it once, on first use, so construction stays synchronous.
  let keys: Promise<CryptoKey[]> | null = null;

  function checkHeaders(headers: Headers): SignedHeaders {
    const id = headers.get("webhook-id");
    const timestamp = headers.get("webhook-timestamp");
    const signature = headers.get("webhook-signature");
    if (!id || !timestamp || !signature) {
      return fail("missing_signature", "webhook-id, webhook-timestamp and webhook-signature headers are all required");
    }
    if (!/^\d{1,15}$/.test(timestamp)) {
      return fail("invalid_timestamp", "webhook-timestamp must be an integer number of Unix seconds");
    }
    const skew = Math.abs(Math.floor(clock() / 1000) - Number(timestamp));
    if (skew > tolerance) {
      return fail("timestamp_out_of_tolerance", `webhook-timestamp is ${skew} s away from now (tolerance ${tolerance} s)`);
    }
    const signatures = parseSignatures(signature);
    if (signatures.length === 0) return fail("invalid_signature", "webhook-signature has no v1 signature");
    return { ok: true, id, timestamp, signatures };
  }

  return {
    checkHeaders,
    async verify(headers, body) {
      const signed = checkHeaders(headers);
      if (!signed.ok) return signed;
      keys ??= Promise.all(rawKeys.map(importSecret));
      const all = await keys;
      for (let k = 0; k < all.length; k++) {
        const expected = toBase64(await hmac(all[k]!, signed.id, signed.timestamp, body));
        // Every given signature is compared, so the time does not tell which one matched.
        let matched = false;
        for (const sig of signed.signatures) matched = constantTimeEqualStrings(sig, expected) || matched;
        if (matched) return { ok: true, secretIndex: k };
      }
      return fail("invalid_signature", "no signature matches the body with any configured secret");
    },
  };
}

function fail(code: WebhookErrorCode, message: string): { ok: false; code: WebhookErrorCode; message: string } {
  return { ok: false, code, message };
}

/** The base64 texts of the `v1,<base64>` entries (space separated); other versions are ignored. */
function parseSignatures(header: string): string[] {
  const out: string[] = [];
  for (const part of header.split(" ")) {
    if (out.length >= MAX_SIGNATURES) break;
    if (part.startsWith("v1,")) out.push(part.slice(3));
  }
  return out;
}

function importSecret(bytes: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", bytes as Uint8Array<ArrayBuffer>, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
}

/** HMAC-SHA256 over `id.timestamp.body`, with the body's raw bytes (no re-encoding). */
async function hmac(key: CryptoKey, id: string, timestamp: string, body: Uint8Array): Promise<Uint8Array> {
  const head = encoder.encode(`${id}.${timestamp}.`);
  const data = new Uint8Array(head.length + body.length);
  data.set(head, 0);
  data.set(body, head.length);
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, data));
}
