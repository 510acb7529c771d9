/** The request body, read once and shared by signature checks and JSON parsing. */
import type { Context } from "hono";
import type { AuthMethod } from "./auth.ts";

/** Hono environment of the trigger's app. */
export interface WebhookEnv {
  Variables: { rawBody: Uint8Array; auth: AuthMethod };
}

/** Reads (once) and returns the body bytes, as signatures need them; the size limit already applied. */
export async function readRawBody(c: Context<WebhookEnv>): Promise<Uint8Array> {
  let body = c.get("rawBody");
  if (!body) {
    body = new Uint8Array(await c.req.raw.arrayBuffer());
    c.set("rawBody", body);
  }
  return body;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/**
 * The body as text. Bytes already read for a signature are decoded strictly (null when not
 * UTF-8); otherwise the runtime's own text() is used, which on @hono/node-server skips a copy,
 * and replaces invalid UTF-8 with U+FFFD (JSON.parse then refuses it, or keeps it in a string).
 */
export function readBodyText(c: Context<WebhookEnv>): Promise<string | null> | string | null {
  const bytes = c.get("rawBody");
  // Not async: returning text()'s promise from an async function would cost extra microtask turns.
  if (!bytes) return c.req.raw.text();
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return null;
  }
}
