/** The request's raw bytes, read once and shared by signature checks and JSON parsing. */
import type { Context } from "hono";
import type { AuthMethod } from "./auth.ts";

/** Hono environment of the trigger's app. */
export interface WebhookEnv {
  Variables: { rawBody: Uint8Array; auth: AuthMethod };
}

/** Reads (once) and returns the body bytes; bodyLimit has already bounded them. */
export async function readRawBody(c: Context<WebhookEnv>): Promise<Uint8Array> {
  let body = c.get("rawBody");
  if (!body) {
    body = new Uint8Array(await c.req.raw.arrayBuffer());
    c.set("rawBody", body);
  }
  return body;
}
