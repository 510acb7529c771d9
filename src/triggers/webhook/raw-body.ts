/** The trigger's Hono environment and the decoding of body bytes. */
import type { AuthMethod } from "./auth.ts";

/** Hono environment of the trigger's app. */
export interface WebhookEnv {
  Variables: { auth: AuthMethod };
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
const lenientUtf8 = new TextDecoder("utf-8");

/**
 * Body bytes as text. Strict for signed bodies (null when not UTF-8: the signature covers the
 * exact bytes, so nothing is replaced); otherwise invalid UTF-8 becomes U+FFFD, as the runtime's
 * own `text()` does on the other paths.
 */
export function decodeBody(bytes: Uint8Array, strict: boolean): string | null {
  if (!strict) return lenientUtf8.decode(bytes);
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return null;
  }
}
